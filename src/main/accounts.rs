//! `yoyaku staff-user`: the staff page's accounts.

use super::*;

/// The password of a new account or a `passwd`: from the variable named
/// by --password-env, else the first line of standard input.
fn read_password(env: Option<&str>) -> Result<String> {
    let password = match env {
        Some(var) => std::env::var(var)
            .with_context(|| format!("--password-env {var}: the variable is not set"))?,
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("password (the line is shown as typed; pipe it in to avoid that):");
            }
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.chars().count() < 10 {
        anyhow::bail!("the password must have at least 10 characters");
    }
    Ok(password)
}

pub(super) async fn staff_user(action: StaffUserCommand) -> Result<ExitCode> {
    use yoyaku::store::staff as accounts;
    let config = match &action {
        StaffUserCommand::Add { config, .. }
        | StaffUserCommand::List { config }
        | StaffUserCommand::Remove { config, .. }
        | StaffUserCommand::Passwd { config, .. } => config.clone(),
    };
    let cfgs = Config::load_offices(&config)?;
    let first = cfgs.first().context("no office in the config")?;
    let store = yoyaku::store::Store::open(&first.database_url).await?;
    let mut conn = store.conn().await?;
    match action {
        StaffUserCommand::Add {
            login,
            admin,
            password_env,
            ..
        } => {
            let office = match office() {
                Some(id) => {
                    if !cfgs.iter().any(|c| c.office_id == id) {
                        anyhow::bail!("--office {id}: no such office in the config");
                    }
                    id.to_string()
                }
                None if cfgs.len() == 1 => first.office_id.clone(),
                None => anyhow::bail!("--office ID is needed: the config has several offices"),
            };
            let valid = !login.is_empty()
                && login.len() <= 64
                && login
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
            if !valid {
                anyhow::bail!("{login:?}: a login is 1-64 of a-z, 0-9, '.', '_', '-', '@'");
            }
            let password = read_password(password_env.as_deref())?;
            let hash = yoyaku::web::auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            if !accounts::add_user(&mut conn, &login, &office, admin, &hash, Utc::now()).await? {
                anyhow::bail!(
                    "{login}: the account exists (staff-user passwd changes its password)"
                );
            }
            println!(
                "{login}: added ({office}{})",
                if admin { ", admin" } else { "" }
            );
        }
        StaffUserCommand::List { .. } => {
            for u in accounts::users(&mut conn).await? {
                println!(
                    "{:<24} {:<16} {}",
                    u.login,
                    u.office,
                    if u.admin { "admin" } else { "staff" },
                );
            }
        }
        StaffUserCommand::Remove { login, .. } => {
            if !accounts::remove_user(&mut conn, &login).await? {
                anyhow::bail!("{login}: no such account");
            }
            println!("{login}: removed");
        }
        StaffUserCommand::Passwd {
            login,
            password_env,
            ..
        } => {
            let password = read_password(password_env.as_deref())?;
            let hash = yoyaku::web::auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            if !accounts::set_password(&mut conn, &login, &hash).await? {
                anyhow::bail!("{login}: no such account");
            }
            println!("{login}: password changed; its sessions have ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}
