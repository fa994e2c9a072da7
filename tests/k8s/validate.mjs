// Validates rendered Kubernetes manifests (the output of `kubectl kustomize k8s/overlays/<name>`)
// against the Kubernetes OpenAPI schemas (kubernetes-models) and checks the suite's policies:
//
//   node validate.mjs --overlay dev|prod rendered.yaml
//
// Policies (every one is an error when broken):
//   - every object of a known API group validates against its schema; custom resources (the
//     CloudNativePG Cluster and Database) get structural checks instead;
//   - every namespaced object sits in the overlay's namespace, which the overlay creates;
//   - every Deployment and StatefulSet: readiness and liveness probes on every container,
//     CPU and memory requests and a memory limit, non-root (runAsNonRoot), no privilege
//     escalation, a read-only root filesystem, all capabilities dropped, the RuntimeDefault
//     seccomp profile, and a PodDisruptionBudget selecting its pods;
//   - the suite's services (component=service): startup, readiness and liveness probes on gRPC
//     health (readiness on "", liveness and startup on "liveness") at the container's port, a
//     termination grace longer than drain_delay + shutdown_grace, a HorizontalPodAutoscaler;
//   - every Service that selects a suite service's pods is headless, and every dns:/// target
//     in the configuration names a headless Service of the overlay on one of its ports;
//   - no image uses the tag "latest" or no tag at all;
//   - ConfigMaps referenced by pods exist (Secrets must exist in dev; prod lists the Secrets the
//     installation has to create);
//   - a default-deny NetworkPolicy exists, and every suite service has a policy for its ingress;
//   - prod: at least three replicas (HPA minimum) and anti-affinity across nodes for every
//     service; PostgreSQL with at least one synchronous standby; Redis with Sentinel.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
let overlay = "";
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--overlay") overlay = args[++i];
  else files.push(args[i]);
}
if (!overlay || files.length !== 1) {
  console.error("usage: node validate.mjs --overlay dev|prod rendered.yaml");
  process.exit(2);
}

const errors = [];
const fail = (object, message) =>
  errors.push(`${object ? `${object.kind}/${object.metadata?.name}: ` : ""}${message}`);

const objects = [];
for (const document of parseAllDocuments(readFileSync(files[0], "utf8"))) {
  if (document.errors.length) {
    for (const e of document.errors) fail(null, `YAML: ${e.message}`);
    continue;
  }
  const object = document.toJS();
  if (object) objects.push(object);
}
if (objects.length === 0) fail(null, "no objects rendered");

// --- schemas --------------------------------------------------------------------------------
const customGroups = new Set(["postgresql.cnpg.io"]);
let schemaValidated = 0;
for (const object of objects) {
  const { apiVersion, kind } = object;
  if (!apiVersion || !kind) {
    fail(object, "no apiVersion or kind");
    continue;
  }
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  if (customGroups.has(group)) continue;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
  } catch {
    fail(object, `unknown API ${apiVersion} ${kind} (not in the Kubernetes schemas)`);
    continue;
  }
  try {
    new Model(object).validate();
    schemaValidated++;
  } catch (error) {
    fail(object, `schema: ${error.message}`);
  }
}

// --- helpers --------------------------------------------------------------------------------
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
const selects = (selector, labels) =>
  selector &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);
const parseDuration = (text) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(text ?? ""));
  if (!match) return NaN;
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2]];
};

const namespaces = byKind("Namespace").map((n) => n.metadata.name);
if (namespaces.length !== 1) fail(null, `the overlay must create one Namespace, found ${namespaces}`);
const namespace = namespaces[0];
const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"]);
for (const object of objects) {
  if (!clusterScoped.has(object.kind) && object.metadata?.namespace !== namespace) {
    fail(object, `not in the namespace ${namespace}`);
  }
}

const commonConfig = find("ConfigMap", "cc-common-config")?.data ?? {};
const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
const suiteServices = byKind("Deployment").filter(
  (d) => d.spec?.template?.metadata?.labels?.["app.kubernetes.io/component"] === "service",
);
const expectedServices = ["calls", "customers", "surveys", "knowledge", "analytics"];
for (const name of expectedServices) {
  if (!suiteServices.some((d) => d.metadata.name === `cc-${name}`)) {
    fail(null, `no Deployment cc-${name}`);
  }
}

const missingSecrets = new Set();
for (const workload of workloads) {
  const pod = workload.spec?.template?.spec ?? {};
  const podLabels = workload.spec?.template?.metadata?.labels ?? {};
  const podSecurity = pod.securityContext ?? {};
  if (podSecurity.seccompProfile?.type !== "RuntimeDefault") {
    fail(workload, "pod securityContext.seccompProfile must be RuntimeDefault");
  }
  if (!selects(workload.spec?.selector?.matchLabels, podLabels)) {
    fail(workload, "selector does not select its own pod template");
  }
  const pdbs = byKind("PodDisruptionBudget").filter((p) =>
    selects(p.spec?.selector?.matchLabels, podLabels),
  );
  if (pdbs.length !== 1) fail(workload, `needs exactly one PodDisruptionBudget, has ${pdbs.length}`);

  for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const where = `container ${container.name}`;
    const isInit = (pod.initContainers ?? []).includes(container);
    if (!isInit) {
      if (!container.readinessProbe) fail(workload, `${where} has no readinessProbe`);
      if (!container.livenessProbe) fail(workload, `${where} has no livenessProbe`);
    }
    const resources = container.resources ?? {};
    if (!resources.requests?.cpu || !resources.requests?.memory) {
      fail(workload, `${where} needs CPU and memory requests`);
    }
    if (!resources.limits?.memory) fail(workload, `${where} needs a memory limit`);
    const security = container.securityContext ?? {};
    const runAsNonRoot = security.runAsNonRoot ?? podSecurity.runAsNonRoot;
    const runAsUser = security.runAsUser ?? podSecurity.runAsUser;
    if (runAsNonRoot !== true) fail(workload, `${where} must run with runAsNonRoot: true`);
    if (runAsUser === 0) fail(workload, `${where} runs as user 0`);
    if (security.allowPrivilegeEscalation !== false) {
      fail(workload, `${where} must set allowPrivilegeEscalation: false`);
    }
    if (security.readOnlyRootFilesystem !== true) {
      fail(workload, `${where} must set readOnlyRootFilesystem: true`);
    }
    if (security.privileged === true) fail(workload, `${where} is privileged`);
    if (!(security.capabilities?.drop ?? []).includes("ALL")) {
      fail(workload, `${where} must drop ALL capabilities`);
    }
    const image = container.image ?? "";
    const lastPart = image.split("/").pop();
    if (!image.includes("@sha256:")) {
      if (!lastPart.includes(":")) fail(workload, `${where} image ${image} has no tag`);
      else if (lastPart.endsWith(":latest")) fail(workload, `${where} image ${image} uses latest`);
    }
    for (const source of container.envFrom ?? []) {
      const name = source.configMapRef?.name;
      if (name && !find("ConfigMap", name)) fail(workload, `${where}: no ConfigMap ${name}`);
      if (source.secretRef?.name && !find("Secret", source.secretRef.name)) {
        missingSecrets.add(source.secretRef.name);
      }
    }
    for (const variable of container.env ?? []) {
      const secret = variable.valueFrom?.secretKeyRef;
      if (secret && !find("Secret", secret.name)) missingSecrets.add(secret.name);
      const config = variable.valueFrom?.configMapKeyRef;
      if (config && !find("ConfigMap", config.name)) fail(workload, `${where}: no ConfigMap ${config.name}`);
    }
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.configMap && !find("ConfigMap", volume.configMap.name)) {
      fail(workload, `volume ${volume.name}: no ConfigMap ${volume.configMap.name}`);
    }
  }
}
if (overlay === "dev" && missingSecrets.size) {
  fail(null, `dev must generate every Secret it references; missing ${[...missingSecrets]}`);
}

// --- the suite's services -------------------------------------------------------------------
const drain = parseDuration(commonConfig.CC_DRAIN_DELAY ?? "0s");
const grace = parseDuration(commonConfig.CC_SHUTDOWN_GRACE ?? "10s");
if (Number.isNaN(drain) || Number.isNaN(grace)) {
  fail(null, "cc-common-config needs CC_DRAIN_DELAY and CC_SHUTDOWN_GRACE as durations");
}
const headlessServices = new Map();
for (const service of byKind("Service")) {
  const selected = suiteServices.filter((d) =>
    selects(service.spec?.selector, d.spec.template.metadata.labels),
  );
  const headless = service.spec?.clusterIP === "None";
  if (selected.length && !headless) {
    fail(service, "selects a suite service's pods, so must be headless (clusterIP: None)");
  }
  if (headless) headlessServices.set(service.metadata.name, service);
}
for (const deployment of suiteServices) {
  const pod = deployment.spec.template.spec;
  const labels = deployment.spec.template.metadata.labels;
  const [container] = pod.containers;
  const port = container.ports?.find((p) => p.name === "grpc")?.containerPort;
  if (!port) fail(deployment, "no container port named grpc");
  const checkProbe = (kind, service) => {
    const probe = container[kind];
    if (!probe?.grpc) return fail(deployment, `${kind} must use gRPC health`);
    if (probe.grpc.port !== port) fail(deployment, `${kind} probes port ${probe.grpc.port}, not ${port}`);
    if ((probe.grpc.service ?? "") !== service) {
      fail(deployment, `${kind} must ask for the health service "${service}"`);
    }
  };
  checkProbe("startupProbe", "liveness");
  checkProbe("livenessProbe", "liveness");
  checkProbe("readinessProbe", "");
  const terminationGrace = pod.terminationGracePeriodSeconds ?? 30;
  if (!(terminationGrace > drain + grace)) {
    fail(deployment, `terminationGracePeriodSeconds ${terminationGrace} must exceed drain_delay + shutdown_grace (${drain + grace} s)`);
  }
  if (deployment.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) {
    fail(deployment, "rolling updates must keep every old pod until a new one is ready (maxUnavailable: 0)");
  }
  if (!byKind("Service").some((s) => selects(s.spec?.selector, labels))) {
    fail(deployment, "no Service selects its pods");
  }
  const hpa = byKind("HorizontalPodAutoscaler").find(
    (h) => h.spec?.scaleTargetRef?.kind === "Deployment" && h.spec.scaleTargetRef.name === deployment.metadata.name,
  );
  if (!hpa) fail(deployment, "no HorizontalPodAutoscaler");
  if (overlay === "prod") {
    if (!(hpa?.spec?.minReplicas >= 3)) fail(deployment, "prod needs at least 3 replicas (HPA minReplicas)");
    const antiAffinity = pod.affinity?.podAntiAffinity;
    const terms = [
      ...(antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm),
    ];
    if (!terms.some((t) => t?.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector?.matchLabels, labels))) {
      fail(deployment, "prod needs pod anti-affinity across nodes");
    }
  }
  const ingress = byKind("NetworkPolicy").filter(
    (p) => (p.spec?.policyTypes ?? []).includes("Ingress") && selects(p.spec?.podSelector?.matchLabels, labels),
  );
  if (!ingress.length) fail(deployment, "no NetworkPolicy for its ingress");
  // Every gRPC target in its configuration names a headless Service of the overlay.
  const values = [
    ...(container.env ?? []).map((v) => v.value),
    ...(container.envFrom ?? []).flatMap((s) => Object.values(find("ConfigMap", s.configMapRef?.name)?.data ?? {})),
  ];
  for (const value of values.filter((v) => typeof v === "string" && v.startsWith("dns:///"))) {
    const match = /^dns:\/\/\/([a-z0-9-]+)(?:\.[^:]+)?:(\d+)$/.exec(value);
    const target = match && headlessServices.get(match[1]);
    if (!target) fail(deployment, `${value} does not name a headless Service of the overlay`);
    else if (!target.spec.ports.some((p) => p.port === Number(match[2]))) {
      fail(deployment, `${value}: the Service ${match[1]} has no port ${match[2]}`);
    }
  }
}
const defaultDeny = byKind("NetworkPolicy").find(
  (p) => Object.keys(p.spec?.podSelector ?? {}).length === 0 && !p.spec?.ingress && !p.spec?.egress &&
    ["Ingress", "Egress"].every((t) => (p.spec?.policyTypes ?? []).includes(t)),
);
if (!defaultDeny) fail(null, "no default-deny NetworkPolicy");

// --- datastores -----------------------------------------------------------------------------
const clusters = objects.filter((o) => o.apiVersion === "postgresql.cnpg.io/v1" && o.kind === "Cluster");
for (const object of objects.filter((o) => customGroups.has(o.apiVersion.split("/")[0]))) {
  if (!object.metadata?.name || typeof object.spec !== "object") fail(object, "needs metadata.name and spec");
  if (object.kind === "Database" && !clusters.some((c) => c.metadata.name === object.spec?.cluster?.name)) {
    fail(object, `names no Cluster of the overlay (${object.spec?.cluster?.name})`);
  }
}
if (overlay === "prod") {
  if (clusters.length !== 1) fail(null, "prod needs one CloudNativePG Cluster");
  for (const cluster of clusters) {
    if (!(cluster.spec?.instances >= 2)) fail(cluster, "needs a standby (instances >= 2)");
    if (!(cluster.spec?.minSyncReplicas >= 1)) fail(cluster, "needs a synchronous standby (minSyncReplicas >= 1)");
    if (cluster.spec?.affinity?.podAntiAffinityType !== "required") fail(cluster, "instances must be on different nodes");
    if (/:latest$|^[^:]+$/.test(cluster.spec?.imageName ?? "x:y")) fail(cluster, "image without a release tag");
  }
  const redis = find("StatefulSet", "redis");
  if (!redis?.spec?.template?.spec?.containers?.some((c) => c.name === "sentinel")) {
    fail(null, "prod needs Redis with Sentinel");
  }
  if (!(redis?.spec?.replicas >= 3)) fail(redis, "Sentinel needs three nodes");
} else {
  for (const name of ["postgres", "redis"]) {
    if (find("StatefulSet", name)?.spec?.replicas !== 1) fail(null, `dev needs a single ${name} StatefulSet`);
  }
}

// --- report ---------------------------------------------------------------------------------
const kinds = {};
for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
console.log(
  `${overlay}: ${objects.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")}); ` +
    `${schemaValidated} validated against the Kubernetes schemas`,
);
if (missingSecrets.size) {
  console.log(`${overlay}: Secrets the installation must create: ${[...missingSecrets].sort().join(", ")}`);
}
if (errors.length) {
  for (const e of errors) console.error(`${overlay}: FAIL ${e}`);
  process.exit(1);
}
console.log(`${overlay}: every object valid, every policy holds`);
