// Package guardrails holds what confines the identities the platform creates: what the
// environments group may do in the platform's cluster (its RBAC and the admission policies the
// API server enforces on it), and who may assume the CI roles and what each may touch (the GitHub
// OIDC trust and the roles' IAM policies). The components that declare them are here too, so a
// reader finds every rule in one place; the tests hold each rule to the consumer that enforces
// it: the API server for RBAC and admission, IAM's matching for the trust.
package guardrails
