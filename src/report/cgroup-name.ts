/**
 * Short names for cgroup v2 paths (cgroups(7)): what a row of `top --by
 * cgroup` shows beside the path. The rule, from the last component back:
 *
 * - a container: a component `docker-<64 hex>.scope`,
 *   `cri-containerd-<64 hex>.scope`, `crio-<64 hex>.scope`,
 *   `libpod-<64 hex>.scope` (systemd cgroup driver) or a bare 64-hex
 *   component (cgroupfs driver: /docker/<id>, /kubepods/.../<id>) gives
 *   containerId; the name is its first 12 characters, as `docker ps` shows;
 * - a Kubernetes pod: `kubepods-<qos>-pod<uid>.slice` (systemd driver, the
 *   uid's '-' written as '_') or `pod<uid>` (cgroupfs driver) gives podUid;
 * - otherwise the last component ending in `.service` or `.scope` is the
 *   systemd unit and the name;
 * - otherwise the last component, or "/" for the root cgroup.
 *
 * Pure: no filesystem access.
 */

export interface CgroupName {
  /** The cgroup path as given, relative to the cgroup2 mount ("/system.slice/nginx.service"). */
  path: string;
  /** What to show: the container id's first 12 characters, the systemd unit, or the last component. */
  name: string;
  /** The last `.service` or `.scope` component, when there is one. */
  unit?: string;
  /** The full 64-hex container id, for a container's cgroup. */
  containerId?: string;
  /** The Kubernetes pod uid (with '-'), when the path has one. */
  podUid?: string;
}

const HEX64 = '[0-9a-f]{64}';
const CONTAINER_SCOPE = new RegExp(`^(?:docker|cri-containerd|crio|libpod)-(${HEX64})\\.scope$`);
const CONTAINER_BARE = new RegExp(`^(${HEX64})$`);
const UID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
const POD_SLICE = new RegExp(`^kubepods(?:-[a-z]+)?-pod(${UID})\\.slice$`);
const POD_DIR = new RegExp(`^pod(${UID})$`);

export function cgroupShortName(path: string): CgroupName {
  const parts = path.split('/').filter((p) => p !== '');
  const out: CgroupName = { path, name: parts.length ? parts[parts.length - 1]! : '/' };
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    if (out.containerId === undefined) {
      const m = CONTAINER_SCOPE.exec(p) ?? CONTAINER_BARE.exec(p);
      if (m) out.containerId = m[1]!;
    }
    if (out.podUid === undefined) {
      const m = POD_SLICE.exec(p) ?? POD_DIR.exec(p);
      if (m) out.podUid = m[1]!.replace(/_/g, '-');
    }
    if (out.unit === undefined && (p.endsWith('.service') || p.endsWith('.scope'))) out.unit = p;
  }
  if (out.containerId !== undefined) out.name = out.containerId.slice(0, 12);
  else if (out.unit !== undefined) out.name = out.unit;
  return out;
}

/**
 * A cgroup id's path and short name; path null for a cgroup removed since
 * (name "(removed)"), or not found behind a directory the walk could not
 * read (name "(not found)").
 */
export type CgroupLabel = Omit<CgroupName, 'path'> & { path: string | null };
