// Package msgraph checks that the official Microsoft Graph Go SDK works
// against provisiond by changing only its base URL and token. It is a
// module of its own because the SDK takes minutes to build; the project's
// test command runs it as a separate step.
package msgraph
