//! The only module that knows slack-morphism: the Web API client, both
//! transports (Socket Mode and HTTP), Block Kit views and the handlers that
//! turn Slack payloads into domain calls.

pub mod client;
pub mod delivery;
pub mod handlers;
pub mod home;
pub mod http;
pub mod notes;
pub mod pacer;
pub mod signature;
pub mod socket;
pub mod views;

pub use client::{MessageMark, PersonInfo, Posted, SlackApi, SlackCallError};
pub use pacer::Pacer;
