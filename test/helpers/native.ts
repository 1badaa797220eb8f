// The raw binding (src/core/addon.ts) as the tests call it: with options the
// library would never send (families left out, which the addon defaults to
// both; a netns or source of any spelling, to see the addon refuse it).
import { native as typed } from '../../src/core/addon';

// A required options object becomes optional, its keys optional and of any
// type (one that may be undefined, just optional); other parameters stay as
// they are.
type Loose<F> = F extends (...args: infer A) => infer Ret
  ? A extends [infer O, ...infer R]
    ? undefined extends O
      ? (opts?: O, ...rest: R) => Ret
      : [O] extends [object]
        ? (opts?: { [K in keyof O]?: unknown } & Record<string, unknown>, ...rest: R) => Ret
        : F
    : F
  : F;

export type LooseNative = { [K in keyof typeof typed]: Loose<(typeof typed)[K]> };

export const native = typed as unknown as LooseNative;
