/**
 * The two pure mount-table parsers: src/request/cgroup-mount.ts (where
 * cgroup2 is mounted, from /proc/mounts: proc(5), laid out as fstab(5),
 * "spec file vfstype mntops freq passno") and src/request/proc-mount.ts's
 * parseProcHidepid (the hidepid option of a procfs, from
 * /proc/self/mountinfo: proc_pid_mountinfo(5), "ID PARENT MAJ:MIN ROOT
 * MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS"). Both
 * files write space, tab, newline and backslash in paths as octal \040,
 * \011, \012, \134 (the kernel's seq_path/mangle, fstab(5)). hidepid is
 * proc(5)'s "Mount options": 0/off, 1/noaccess (listed, closed),
 * 2/invisible (not listed), 4/ptraceable (only ptraceable ones listed);
 * gid= names a group that sees every process anyway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cgroup2Mount } from '../../src/request/cgroup-mount';
import { parseProcHidepid } from '../../src/request/proc-mount';

// ---- cgroup2Mount ----

test('the unified layout: cgroup2 on /sys/fs/cgroup', () => {
  const mounts = [
    'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
    'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0',
  ].join('\n');
  assert.equal(cgroup2Mount(mounts), '/sys/fs/cgroup');
});

test('the hybrid layout: v1 controllers beside cgroup2 on /sys/fs/cgroup/unified', () => {
  const mounts = [
    'tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0',
    'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0',
    'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0',
  ].join('\n');
  assert.equal(cgroup2Mount(mounts), '/sys/fs/cgroup/unified');
});

test('v1 only, or no cgroups at all: undefined', () => {
  assert.equal(cgroup2Mount('cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n'), undefined);
  assert.equal(cgroup2Mount(''), undefined);
  assert.equal(cgroup2Mount('garbage\n\n'), undefined);
});

test('several cgroup2 mounts: the first, as the addon picks it', () => {
  assert.equal(cgroup2Mount('cgroup2 /first cgroup2 rw 0 0\ncgroup2 /second cgroup2 rw 0 0\n'), '/first');
});

test('octal escapes in the mount point come back as the bytes they stand for', () => {
  assert.equal(cgroup2Mount('cgroup2 /mnt/my\\040cgroup cgroup2 rw 0 0'), '/mnt/my cgroup');
  assert.equal(cgroup2Mount('cgroup2 /mnt/a\\011b\\012c\\134d cgroup2 rw 0 0'), '/mnt/a\tb\nc\\d');
});

// ---- parseProcHidepid ----

const line = (mountPoint: string, fstype: string, superOptions: string, optional = '') =>
  `25 1 0:23 / ${mountPoint} rw,nosuid,nodev,noexec,relatime ${optional ? `${optional} ` : ''}- ${fstype} ${fstype} ${superOptions}`;

test('hidepid=invisible (Linux 5.8+ spelling) hides; no gid', () => {
  assert.deepEqual(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=invisible', 'shared:12'), '/proc'), {
    option: 'hidepid=invisible',
    hides: true,
    gid: null,
  });
});

test('hidepid=2 with gid=N: hides, except from members of group N', () => {
  assert.deepEqual(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=2,gid=1000'), '/proc'), { option: 'hidepid=2', hides: true, gid: 1000 });
});

test('ptraceable (4) hides; noaccess (1) lists every process, so nothing is hidden from the walk', () => {
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=ptraceable'), '/proc')?.hides, true);
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=4'), '/proc')?.hides, true);
  assert.deepEqual(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=noaccess'), '/proc'), { option: 'hidepid=noaccess', hides: false, gid: null });
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=1'), '/proc')?.hides, false);
});

test('no hidepid, hidepid=0 or hidepid=off: null', () => {
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw'), '/proc'), null);
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=0'), '/proc'), null);
  assert.equal(parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=off'), '/proc'), null);
});

test('only the mount at the asked mount point counts, and the last one there (the one on top)', () => {
  const hidden = line('/proc', 'proc', 'rw,hidepid=invisible');
  const open = line('/proc', 'proc', 'rw');
  assert.equal(parseProcHidepid(line('/other/proc', 'proc', 'rw,hidepid=2'), '/proc'), null);
  assert.equal(parseProcHidepid(`${hidden}\n${open}\n`, '/proc'), null);
  assert.equal(parseProcHidepid(`${open}\n${hidden}\n`, '/proc')?.option, 'hidepid=invisible');
  assert.equal(parseProcHidepid(`${hidden}\n${line('/proc', 'tmpfs', 'rw,size=1k')}`, '/proc'), null, 'something not procfs mounted over it');
});

test('any number of optional fields before the separator', () => {
  assert.equal(
    parseProcHidepid(line('/proc', 'proc', 'rw,hidepid=2', 'shared:5 master:3 propagate_from:2 unbindable'), '/proc')?.option,
    'hidepid=2',
  );
});

test('a mount point with an escaped space matches its unescaped path', () => {
  assert.equal(parseProcHidepid(line('/srv/my\\040proc', 'proc', 'rw,hidepid=2'), '/srv/my proc')?.option, 'hidepid=2');
});

test('short or malformed lines are skipped, not misread', () => {
  const text = ['', 'nonsense', '25 1 0:23 / /proc rw - proc', line('/proc', 'proc', 'rw,hidepid=2')].join('\n');
  assert.equal(parseProcHidepid(text, '/proc')?.option, 'hidepid=2');
  assert.equal(parseProcHidepid('', '/proc'), null);
});
