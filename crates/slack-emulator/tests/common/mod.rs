//! Shared helpers: a slack-morphism client pointed at the emulator.
#![allow(dead_code)]

use std::sync::Arc;

use slack_emulator::{Emulator, EmulatorConfig, User};
use slack_morphism::prelude::*;

pub const ALICE: &str = "U0ALICE001";
pub const BOB: &str = "U0BOB00001";
pub const SALES: &str = "C0SALES001";

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client(emu: &Emulator) -> Arc<SlackHyperClient> {
    install_crypto();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let connector =
        SlackClientHyperConnector::with_connector(https).with_slack_api_url(&emu.api_url());
    Arc::new(SlackClient::new(connector))
}

pub fn bot_token(emu: &Emulator) -> SlackApiToken {
    SlackApiToken::new(emu.config().bot_token.clone().into())
}

pub fn app_token(emu: &Emulator) -> SlackApiToken {
    SlackApiToken::new(emu.config().app_token.clone().into())
}

/// An emulator with test timings, two users and a channel.
pub async fn start() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.unwrap();
    emu.add_user(User::new(ALICE, "alice", "America/New_York"));
    emu.add_user(User::new(BOB, "bob", "Europe/London"));
    let bot = emu.config().bot_user_id.clone();
    emu.add_channel(SALES, "sales", &[ALICE, BOB, &bot]);
    emu
}
