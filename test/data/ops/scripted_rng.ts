/** An Rng whose uniform draws are scripted, for hand-derived expectations of random ops. */
import { Rng } from '../../../src/core/random.js';

export class ScriptedRng extends Rng {
  private readonly values: number[];
  /** Draws consumed so far. */
  used = 0;

  constructor(
    values: number[],
    private readonly normalValue = 0,
  ) {
    super(0);
    this.values = [...values];
  }

  override uniform(): number {
    const v = this.values.shift();
    if (v === undefined) throw new Error(`ScriptedRng: draw ${this.used + 1} was not scripted`);
    this.used++;
    return v;
  }

  override normal(): number {
    return this.normalValue;
  }

  /** Scripted draws not consumed. */
  get left(): number {
    return this.values.length;
  }
}
