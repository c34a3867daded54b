//! The only module that knows slack-morphism: the Web API client and its
//! pacer, both transports (Socket Mode and HTTP) with signature checks, the
//! Block Kit views, and the router that parses each payload once into a
//! typed action and calls a feature (`crate::features`).

pub mod access;
pub mod bot;
pub mod client;
pub mod delivery;
pub mod digest;
pub mod home;
pub mod http;
pub mod limits;
pub mod loops;
pub mod notes;
pub mod pacer;
pub mod people;
pub mod reply;
pub mod router;
pub mod search;
pub mod signature;
pub mod socket;
pub mod views;

pub use bot::Bot;
pub use client::{MessageMark, PersonInfo, Posted, SlackApi, SlackCallError};
pub use pacer::Pacer;
