// TEST-ONLY: asks @cloud-copilot/iam-simulate (AGPL-3.0-or-later) for IAM decisions. Never shipped:
// nothing under tools/authz/ goes into a bundle, a Lambda zip, the seed code or a template.
//
// stdin:  {"requests": [{"id", "principal", "action", "resource", "resourceAccount",
//          "context": {key: value | [values]}, "identityPolicies": [{name, policy}],
//          "resourcePolicy": policy | null, "scps": [{orgIdentifier, policies: [{name, policy}]}],
//          "rcps": [...same...], "permissionBoundaries": [{name, policy}]}]}
// stdout: {"results": [{"id", "decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" |
//          "Error", "error"?, "ignoredContextKeys"?}]}
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function decide(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: request.context ?? {}
    },
    identityPolicies: request.identityPolicies ?? [],
    serviceControlPolicies: request.scps ?? [],
    resourceControlPolicies: request.rcps ?? [],
    resourcePolicy: request.resourcePolicy ?? undefined,
    permissionBoundaryPolicies: request.permissionBoundaries?.length
      ? request.permissionBoundaries
      : undefined
  }
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    return { id: request.id, decision: 'Error', error: JSON.stringify(response.errors) }
  }
  const out = { id: request.id, decision: response.overallResult }
  if (response.resultType === 'single') {
    out.ignoredContextKeys = response.result.ignoredContextKeys ?? []
  } else {
    out.error = `wildcard resource ${request.resource}: name one resource`
    out.decision = 'Error'
  }
  return out
}

const input = await readStdin()
const results = []
for (const request of input.requests) {
  try {
    results.push(await decide(request))
  } catch (error) {
    results.push({ id: request.id, decision: 'Error', error: String(error?.stack ?? error) })
  }
}
process.stdout.write(JSON.stringify({ results }) + '\n')
