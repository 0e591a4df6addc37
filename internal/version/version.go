// Package version holds gantry's version, which run folders, checkpoints and
// the command record.
package version

// Version is gantry's release version; "-dev" marks a build from the
// repository between releases.
const Version = "0.1.0-dev"
