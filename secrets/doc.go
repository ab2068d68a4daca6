// Package secrets keeps job credentials safe: a Box seals them with
// AES-256-GCM under a key kept in the data directory (so the store only ever
// holds ciphertext), and Value is a string that never shows itself in logs.
package secrets
