//! Fieldnotes' integration tests, one binary: a module per area, the
//! shared harness in `support`. One binary links once and runs every test
//! in one process, so the harness keeps tests apart: each has its own
//! emulator, database, clock and config file, child processes die with
//! their guard, and the few process-wide things (the metrics recorder, the
//! HTTP front door's read slots) are handled in `support` and `ops`.

mod support;

mod capture;
mod checkin_loop;
mod checkins;
mod cli;
mod demo;
mod digest;
mod exactly_once;
mod faults;
mod http_mode;
mod inbox;
mod initiatives;
mod loops;
mod ops;
mod privacy;
mod roles;
mod search;
