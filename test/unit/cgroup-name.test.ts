/**
 * src/report/cgroup-name.ts: the short name beside a cgroup v2 path
 * (cgroups(7)). The layouts are the container runtimes' own:
 * systemd cgroup driver scopes `docker-<id>.scope` (dockerd
 * --exec-opt native.cgroupdriver=systemd), `cri-containerd-<id>.scope`
 * (containerd's CRI plugin), `crio-<id>.scope` (CRI-O) and
 * `libpod-<id>.scope` (podman), each id 64 lowercase hex as `docker ps
 * --no-trunc` prints it, shown by its first 12 characters as `docker ps`
 * does; the kubelet's pod slices `kubepods-<qos>-pod<uid>.slice` with the
 * uid's '-' escaped to '_' (systemd.unit(5): '-' in a slice name is the
 * hierarchy separator), or `kubepods/<qos>/pod<uid>` with the cgroupfs
 * driver, where a container is a bare 64-hex directory; systemd units
 * end in .service or .scope (systemd.service(5), systemd.scope(5)).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cgroupShortName } from '../../src/report/cgroup-name';

const ID = '3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const UID = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
const UID_ = UID.replace(/-/g, '_');

test('the root cgroup is "/"', () => {
  assert.deepEqual(cgroupShortName('/'), { path: '/', name: '/' });
  assert.deepEqual(cgroupShortName(''), { path: '', name: '/' });
});

test('a systemd service is its unit', () => {
  assert.deepEqual(cgroupShortName('/system.slice/nginx.service'), {
    path: '/system.slice/nginx.service',
    name: 'nginx.service',
    unit: 'nginx.service',
  });
});

test('a login session is its scope; the innermost unit wins under user@.service', () => {
  assert.equal(cgroupShortName('/user.slice/user-1000.slice/session-3.scope').name, 'session-3.scope');
  const r = cgroupShortName('/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope');
  assert.equal(r.unit, 'app-gnome-firefox-1234.scope');
  assert.equal(r.name, 'app-gnome-firefox-1234.scope');
});

test('a plain directory, a slice alone, and init.scope', () => {
  assert.deepEqual(cgroupShortName('/mygroup/sub'), { path: '/mygroup/sub', name: 'sub' });
  assert.deepEqual(cgroupShortName('/system.slice'), { path: '/system.slice', name: 'system.slice' }, 'a slice is no service or scope');
  assert.equal(cgroupShortName('/init.scope').unit, 'init.scope');
  assert.equal(cgroupShortName('/a/b/').name, 'b', 'a trailing slash adds no component');
});

test('docker with the systemd driver: docker-<id>.scope, named by 12 characters', () => {
  const path = `/system.slice/docker-${ID}.scope`;
  assert.deepEqual(cgroupShortName(path), { path, name: ID.slice(0, 12), unit: `docker-${ID}.scope`, containerId: ID });
});

test('podman (libpod-<id>.scope), rootless under a user manager too', () => {
  assert.equal(cgroupShortName(`/machine.slice/libpod-${ID}.scope`).containerId, ID);
  const r = cgroupShortName(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`);
  assert.equal(r.containerId, ID);
  assert.equal(r.name, ID.slice(0, 12));
});

test('Kubernetes with the systemd driver: containerd and CRI-O scopes in a burstable pod slice', () => {
  const base = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`;
  for (const runtime of ['cri-containerd', 'crio']) {
    const path = `${base}/${runtime}-${ID}.scope`;
    assert.deepEqual(cgroupShortName(path), { path, name: ID.slice(0, 12), unit: `${runtime}-${ID}.scope`, containerId: ID, podUid: UID }, runtime);
  }
});

test('a Guaranteed pod slice has no QoS part: kubepods-pod<uid>.slice; the pod alone has no container', () => {
  const r = cgroupShortName(`/kubepods.slice/kubepods-pod${UID_}.slice`);
  assert.equal(r.podUid, UID, 'the uid with its dashes back');
  assert.equal(r.containerId, undefined);
  assert.equal(r.name, `kubepods-pod${UID_}.slice`);
});

test('the cgroupfs driver: /docker/<id> and /kubepods/<qos>/pod<uid>/<id>', () => {
  assert.deepEqual(cgroupShortName(`/docker/${ID}`), { path: `/docker/${ID}`, name: ID.slice(0, 12), containerId: ID });
  const r = cgroupShortName(`/kubepods/besteffort/pod${UID}/${ID}`);
  assert.equal(r.containerId, ID);
  assert.equal(r.podUid, UID);
  assert.equal(r.unit, undefined);
});

test('a sub-cgroup a container made inside its scope still names the container', () => {
  const r = cgroupShortName(`/system.slice/docker-${ID}.scope/init`);
  assert.equal(r.containerId, ID);
  assert.equal(r.name, ID.slice(0, 12));
});

test('near misses are no container: 63 hex, upper case, an unknown runtime, a conmon scope', () => {
  assert.equal(cgroupShortName(`/docker/${ID.slice(1)}`).containerId, undefined);
  assert.equal(cgroupShortName(`/docker/${ID.toUpperCase()}`).containerId, undefined);
  assert.equal(cgroupShortName(`/system.slice/rkt-${ID}.scope`).containerId, undefined);
  const conmon = cgroupShortName(`/machine.slice/crio-conmon-${ID}.scope`);
  assert.equal(conmon.containerId, undefined);
  assert.equal(conmon.name, `crio-conmon-${ID}.scope`, 'still a systemd unit');
  assert.equal(cgroupShortName(`/kubepods/pod${UID.slice(1)}`).podUid, undefined, 'a uid one digit short');
});

test("control bytes in a path are kept as given: the name is data, escaping is the renderer's job", () => {
  const r = cgroupShortName('/evil\x1b]0;x\x07.service');
  assert.equal(r.name, 'evil\x1b]0;x\x07.service');
  assert.equal(r.path, '/evil\x1b]0;x\x07.service');
});
