// Package iampolicy builds IAM policy documents as Go data, so that policies are type-checked and
// tested as values rather than written as JSON strings.
package iampolicy

import "encoding/json"

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string][]string       `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// New returns a document with the current policy language version.
func New(statements ...Statement) Document {
	return Document{Version: "2012-10-17", Statement: statements}
}

// AssumeRole is the trust policy that lets an AWS service assume a role.
func AssumeRole(service string) Document {
	return New(Statement{
		Effect:    "Allow",
		Principal: map[string][]string{"Service": {service}},
		Action:    []string{"sts:AssumeRole"},
	})
}

// JSON renders the document as the string AWS expects.
func (d Document) JSON() string {
	b, err := json.Marshal(d)
	if err != nil {
		// Document holds only strings, slices and maps of strings: Marshal cannot fail.
		panic(err)
	}
	return string(b)
}
