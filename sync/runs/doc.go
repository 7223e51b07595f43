// Package runs holds what pull, backfill and push share about a run's life:
// the words a run's outcome is told in.
package runs
