// Package runs holds what pull, backfill and push share about a run's
// life: recording it (Start, OutcomeOf, Finish), the words its outcome is
// told in, the report envelope and its writers, the alerts (Alerter), the
// request counter (Counter) and the one reading of errors (Classify) that
// the engines, the alerts and the exit-code ladder go by.
package runs
