/**
 * src/request/option-table.ts, src/request/options.ts and src/cli/flags.ts:
 * the one option table and what is generated from it, without the addon.
 * The expectations are the CLI and library contracts of docs/cli.md and
 * docs/errors.md: every flag a command showed before, the library's names
 * in its messages and the CLI's flags in the CLI's (exit 2, one line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';

import { LimitError, OptionError, opt, optValue } from '../../src/errors';
import { buildRequest } from '../../src/request/options';
import { flagName, flagsOf, KEYS, OPTIONS, type Command as CommandName } from '../../src/request/option-table';
import { addFlags, cliWords, flagOptions } from '../../src/cli/flags';
import { GROUPINGS } from '../../src/report/groupings';
import { TOP_BY } from '../../src/types';

const COMMANDS: CommandName[] = ['report', 'states', 'top', 'list', 'watch', 'serve'];

// What each command's --help listed before the table generated it (cli.ts at 45c0d01), as long flags.
const BEFORE: Record<CommandName, string[]> = {
  report: [
    '--state',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--json',
    '--source',
    '--netns',
    '--all-netns',
    '--cgroup',
    '--threads',
    '--pid',
    '--owners',
    '--proc',
    '--max-sockets',
    '--limit',
  ],
  states: [
    '--state',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--json',
    '--source',
    '--netns',
    '--all-netns',
    '--cgroup',
    '--threads',
  ],
  top: [
    '--state',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--json',
    '--source',
    '--netns',
    '--all-netns',
    '--cgroup',
    '--threads',
    '--pid',
    '--owners',
    '--proc',
    '--max-sockets',
    '--by',
    '--limit',
  ],
  list: [
    '--state',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--json',
    '--source',
    '--netns',
    '--all-netns',
    '--cgroup',
    '--threads',
    '--pid',
    '--owners',
    '--proc',
    '--max-sockets',
    '--processes',
    '--limit',
    '--ndjson',
  ],
  watch: [
    '--state',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--json',
    '--source',
    '--netns',
    '--all-netns',
    '--cgroup',
    '--threads',
    '--owners',
    '--full-every',
    '--proc',
    '--interval',
    '--by',
    '--limit',
    '--count',
  ],
  serve: [
    '--owners',
    '--full-every',
    '--proc',
    '--listen',
    '--owner-states',
    '--top',
    '--top-processes',
    '--min-interval',
    '--request-timeout',
    '--ipv4',
    '--ipv6',
    '--sport',
    '--dport',
    '--src',
    '--dst',
    '--threads',
    '--max-sockets',
  ],
};

const longFlags = (name: CommandName) => addFlags(new Command(name), name).options.map((o) => o.long!);

test('each command gets from the table exactly the flags it had, each with a help line', () => {
  for (const name of COMMANDS) {
    assert.deepEqual([...longFlags(name)].sort(), [...BEFORE[name]].sort(), name);
    for (const o of addFlags(new Command(name), name).options) assert.ok(o.description.length >= 8, `${name} ${o.long}`);
  }
});

test('no command has two flags with one name or one short letter', () => {
  for (const name of COMMANDS) {
    const opts = addFlags(new Command(name), name).options;
    const shorts = opts.map((o) => o.short).filter((s) => s !== undefined);
    assert.equal(new Set(opts.map((o) => o.long)).size, opts.length, name);
    assert.equal(new Set(shorts).size, shorts.length, name);
  }
});

test('every option a library call takes has a check, and every flag names a command that exists', () => {
  for (const key of KEYS) {
    assert.equal(typeof OPTIONS[key].check, 'function', key);
    for (const f of flagsOf(key)) for (const c of Object.keys(f.help)) assert.ok(COMMANDS.includes(c as CommandName), `${key}: ${c}`);
  }
});

test("an option error is worded in the library's names, and in the CLI's flags", () => {
  const e = new OptionError(`${opt('maxSockets')} must be an integer from 1 to 2147483647, got "0"`, 'maxSockets');
  assert.equal(e.message, 'maxSockets must be an integer from 1 to 2147483647, got "0"');
  assert.equal(e.worded(cliWords), '--max-sockets must be an integer from 1 to 2147483647, got "0"');
  const v = new OptionError(`give ${optValue('netns', 'pid:42')} instead`, 'pids');
  assert.equal(v.message, 'give netns "pid:42" instead');
  assert.equal(v.worded(cliWords), 'give --netns pid:42 instead');
  // -4 and -6 both set family: a message names the option, not one of them.
  assert.equal(flagName('family'), 'family');
  assert.equal(flagName('procRoot'), '--proc');
});

test('a value that looks like a mark stays a value: escaped control bytes cannot name an option', () => {
  assert.throws(
    () => buildRequest('countStates', { netns: '\u0001pids\u0002' }),
    (e: unknown) => {
      assert.ok(e instanceof OptionError);
      assert.doesNotMatch(e.worded(cliWords), /--pid/);
      assert.match(e.message, /\\x01pids\\x02/);
      return true;
    },
  );
});

test("a shared parser's error is re-keyed: ownerStates, not states", () => {
  assert.throws(
    () => buildRequest('serve', { ownerStates: 'x' }),
    (e: unknown) => {
      assert.ok(e instanceof OptionError);
      assert.equal(e.option, 'ownerStates');
      assert.match(e.message, /^ownerStates must be an array of state names/);
      assert.match(e.worded(cliWords), /^--owner-states must be an array of state names/);
      return true;
    },
  );
});

test("the addon's maxSockets message names --max-sockets in the CLI", () => {
  const e = new LimitError('more than 10 sockets match (maxSockets); narrow the states or filters, or raise the bound');
  assert.equal(e.message, 'more than 10 sockets match (maxSockets); narrow the states or filters, or raise the bound');
  assert.equal(e.worded(cliWords), 'more than 10 sockets match (--max-sockets); narrow the states or filters, or raise the bound');
});

test('flags become options: -4 alone, -4 with -6 (both: all), --pid lists, numbers checked on the text', () => {
  assert.equal(flagOptions({ ipv4: true }, 'states').options.family, 'ipv4');
  assert.equal(flagOptions({ ipv4: true, ipv6: true }, 'states').options.family, undefined);
  assert.deepEqual(flagOptions({ pid: '12, 34' }, 'top').options.pids, [12, 34]);
  assert.deepEqual(flagOptions({ state: ['close-wait', 'listen'] }, 'top').options.states, ['close-wait', 'listen']);
  assert.equal(flagOptions({ proc: '/host/proc' }, 'top').options.procRoot, '/host/proc');
  assert.deepEqual(flagOptions({ json: true, count: '3' }, 'watch').cli, { json: true, count: 3 });
  // A flag the command does not show is not read, even if present.
  assert.equal(flagOptions({ pid: '12' }, 'states').options.pids, undefined);
  assert.throws(
    () => flagOptions({ limit: '9007199254740993' }, 'top'),
    (e: unknown) => e instanceof OptionError && e.worded(cliWords) === '--limit must be an integer from 1 to 2147483647, got "9007199254740993"',
  );
});

test('the CLI-only flags are no library option: the library names them unknown', () => {
  assert.throws(() => buildRequest('countStates', { json: true }), /^OptionError: unknown option "json" for countStates; valid options: states, /);
});

test('which calls look up owners follows the groupings: process and command need them, the rest do not', () => {
  for (const by of TOP_BY) {
    const req = buildRequest('topProcesses', { by });
    assert.equal(req.raw.owners, GROUPINGS[by].needsOwners, by);
  }
  assert.deepEqual(
    TOP_BY.filter((by) => GROUPINGS[by].needsOwners),
    ['process', 'command'],
  );
});
