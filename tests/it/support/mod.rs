//! The harness every area's tests share: `TestApp` (the bot in-process,
//! `app`), real `fieldnotes` processes (`binary`, `process`), per-test
//! databases (`db`), config fixtures and the seeded workspace
//! (`fixtures`), HTTP probes (`http`) and deadline polls (`wait`).

pub mod app;
pub mod binary;
pub mod db;
pub mod fixtures;
pub mod http;
pub mod process;
pub mod wait;

pub use app::{friday_afternoon, reply_burst, spawn_app, wait_acked, Mode, TestApp};
pub use db::{pg_admin_url, Db};
pub use fixtures::{tag, ConfigFixture};
