// Pure pieces of the cgroup attribution: short names of cgroup paths
// (src/cgroup.ts) and the INET_DIAG_BC_CGROUP_COND programs
// (src/bytecode-cgroup.ts). The kernel's verdict on those programs is in
// sources.test.js, against ss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupShortName } from '../../../src/report/cgroup-name';
import * as h from '../../helpers/index';
import { compileCgroupFilter, andPrograms, BC_CGROUP_COND, BC_JMP } from '../../../src/request/cgroup-filter';

const ID = 'f00dbabe'.repeat(8);
const UID = '0b6e5d1c-6a4e-4b1f-9b43-2f1e8c0d9a77';

test('short names: systemd units, containers by runtime, pods by driver, the rest', () => {
  assert.deepEqual(cgroupShortName('/system.slice/nginx.service'), {
    path: '/system.slice/nginx.service',
    name: 'nginx.service',
    unit: 'nginx.service',
  });
  assert.deepEqual(cgroupShortName('/user.slice/user-1000.slice/session-3.scope'), {
    path: '/user.slice/user-1000.slice/session-3.scope',
    name: 'session-3.scope',
    unit: 'session-3.scope',
  });
  // A unit further up than the last component still names the cgroup.
  assert.equal(cgroupShortName('/system.slice/app.service/worker').name, 'app.service');
  for (const runtime of ['docker', 'cri-containerd', 'crio', 'libpod']) {
    const r = cgroupShortName(`/system.slice/${runtime}-${ID}.scope`);
    assert.equal(r.containerId, ID, runtime);
    assert.equal(r.name, ID.slice(0, 12));
    assert.equal(r.unit, `${runtime}-${ID}.scope`);
  }
  const pod = cgroupShortName(
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`,
  );
  assert.equal(pod.podUid, UID);
  assert.equal(pod.containerId, ID);
  assert.equal(pod.name, ID.slice(0, 12));
  const guaranteed = cgroupShortName(`/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice`);
  assert.equal(guaranteed.podUid, UID);
  assert.equal(guaranteed.containerId, undefined);
  // cgroupfs driver: bare ids and pod<uid>.
  const cgfs = cgroupShortName(`/kubepods/besteffort/pod${UID}/${ID}`);
  assert.equal(cgfs.podUid, UID);
  assert.equal(cgfs.containerId, ID);
  assert.equal(cgroupShortName(`/docker/${ID}`).name, ID.slice(0, 12));
  // Not quite an id: 63 hex digits, upper case.
  assert.equal(cgroupShortName(`/docker-${ID.slice(1)}.scope`).containerId, undefined);
  assert.equal(cgroupShortName(`/${ID.toUpperCase()}`).containerId, undefined);
  assert.deepEqual(cgroupShortName('/'), { path: '/', name: '/' });
  assert.deepEqual(cgroupShortName('/tcpcensus-test/plain'), { path: '/tcpcensus-test/plain', name: 'plain' });
});

const ops = (prog: Uint8Array) => {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const out: Array<{ off: number; code: number; yes: number; no: number }> = [];
  for (let off = 0; off < prog.length; off += dv.getUint8(off + 1)) {
    out.push({ off, code: dv.getUint8(off), yes: dv.getUint8(off + 1), no: dv.getUint16(off + 2, true) });
  }
  return out;
};

test('compileCgroupFilter: one 12-byte op, or an ss-shaped OR group', () => {
  const one = compileCgroupFilter([5n]);
  assert.equal(one.length, 12);
  assert.deepEqual(ops(one), [{ off: 0, code: BC_CGROUP_COND, yes: 12, no: 16 }]);
  assert.equal(Buffer.from(one).readBigUInt64LE(4), 5n);
  const three = compileCgroupFilter([7n, 9n, 4242n]);
  assert.equal(three.length, 3 * 12 + 2 * 4);
  assert.deepEqual(
    ops(three).map((o) => [o.off, o.code, o.off + o.no]),
    [
      [0, BC_CGROUP_COND, 16],
      [12, BC_JMP, 44],
      [16, BC_CGROUP_COND, 32],
      [28, BC_JMP, 44],
      [32, BC_CGROUP_COND, 48],
    ],
  );
  assert.throws(() => compileCgroupFilter([]), RangeError);
  assert.throws(() => compileCgroupFilter([0n]), RangeError);
  assert.throws(() => compileCgroupFilter([1n << 64n]), RangeError);
});

test('andPrograms moves every reject to the end of the whole', () => {
  const f = h.filterBytecode({ sport: '1000-2000', dst: '10.0.0.0/8' })!;
  const both = andPrograms(f, compileCgroupFilter([5n, 6n]))!;
  assert.equal(both.length, f.length + 28);
  for (const o of ops(both)) {
    const target = o.off + o.no;
    // Every `no` is a reject (end + 4) or, inside the OR group, an op of it.
    assert.ok(target === both.length + 4 || (o.off >= f.length && target <= both.length), JSON.stringify(o));
  }
  assert.deepEqual(andPrograms(undefined, f), f);
  assert.equal(andPrograms(undefined, undefined), undefined);
});
