//! `slack-emulator --port 3001`: a standalone emulated workspace with a few
//! demo users, for running the bot by hand without a real Slack.

use std::net::SocketAddr;

use slack_emulator::{Emulator, EmulatorConfig, User};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port: u16 = 3001;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--port needs a value"))?
                    .parse()?
            }
            "-h" | "--help" => {
                println!("usage: slack-emulator [--port PORT]");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let config = EmulatorConfig::default();
    let emu = Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], port)), config.clone()).await?;
    let users = [
        User::new("U0ALICE001", "alice", "America/New_York"),
        User::new("U0BOB00001", "bob", "Europe/London"),
        User::new("U0CAROL001", "carol", "Asia/Tokyo"),
        User::new("U0DAVE0001", "dave", "America/Los_Angeles"),
    ];
    for u in &users {
        emu.add_user(u.clone());
    }
    emu.add_channel(
        "C0SALESTEAM",
        "sales",
        &[
            "U0ALICE001",
            "U0BOB00001",
            "U0CAROL001",
            "U0DAVE0001",
            &config.bot_user_id,
        ],
    );
    emu.add_channel(
        "C0MKTG0001",
        "marketing",
        &["U0CAROL001", &config.bot_user_id],
    );
    emu.add_usergroup(
        "S0SALES001",
        "sales-team",
        &["U0ALICE001", "U0BOB00001", "U0DAVE0001"],
    );
    println!("slack emulator listening; api url: {}", emu.api_url());
    println!(
        "bot token: {}  app token: {}",
        config.bot_token, config.app_token
    );
    println!("signing secret: {}", config.signing_secret);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
