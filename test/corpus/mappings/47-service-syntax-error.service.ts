import { state } from 'durability-compiler';

export class Broken {
  @state value = new Array<number>(;
}
