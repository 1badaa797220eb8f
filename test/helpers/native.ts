// The raw binding (src/core/addon.ts) as the tests call it: with options the
// library would never send (families left out, which the addon defaults to
// both; a netns or source of any spelling, to see the addon refuse it).
import { native as typed } from '../../src/core/addon';

type Loose<F> = F extends (opts: infer O, ...rest: infer R) => infer Ret
  ? (opts?: (O extends object ? { [K in keyof O]?: unknown } : O) & Record<string, unknown>, ...rest: R) => Ret
  : F;

export type LooseNative = { [K in keyof typeof typed]: Loose<(typeof typed)[K]> };

export const native = typed as unknown as LooseNative;
