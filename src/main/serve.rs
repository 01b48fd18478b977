//! `yoyaku run` and `yoyaku web`: the desks' CPU and the staff page
//! beside them (on a thread of its own) or alone.

use super::*;

/// Keeps the desk on one CPU before its database threads start (see
/// `yoyaku::cpu`), unless the config says `[daemon] one_cpu = false`.
pub(super) fn pin(cfg: &Config) -> Option<usize> {
    if !cfg.one_cpu {
        return None;
    }
    match yoyaku::cpu::keep_to_one_cpu() {
        Some(cpu) => {
            tracing::debug!(cpu, "threads kept on one cpu");
            Some(cpu)
        }
        None => {
            tracing::debug!("threads not kept on one cpu: not supported here");
            None
        }
    }
}

/// The staff page of `yoyaku run` on a thread of its own, with its own
/// runtime, database pools, SMTP relays and desks (the same offices), kept
/// off the desks' CPU: pages loaded in a loop then leave the desks' CPU to
/// them. `live`: the serving desks, for /metrics. Returns once the page
/// listens (a taken port is an error at start), with the page's end.
pub(super) async fn web_thread(
    cfgs: Vec<Config>,
    settings: yoyaku::config::Web,
    keeper: std::sync::Arc<yoyaku::desk::LeaseKeeper>,
    live: Vec<std::sync::Arc<Desk>>,
    desk_cpu: Option<usize>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<impl std::future::Future<Output = Result<()>>> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<()>>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<()>>();
    std::thread::Builder::new()
        .name("yoyaku-web".into())
        .spawn(move || {
            if let Some(busy) = desk_cpu {
                match yoyaku::cpu::keep_off_cpu(busy) {
                    Some(cpu) => tracing::debug!(cpu, "staff page kept on another cpu"),
                    None => tracing::debug!("staff page shares the desks' cpu"),
                }
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ =
                        ready_tx
                            .send(Err(anyhow::Error::new(e)
                                .context("cannot start the staff page's runtime")));
                    return;
                }
            };
            let result = runtime.block_on(async move {
                let started = async {
                    let first = cfgs.first().context("no office in the config")?;
                    let store = yoyaku::store::Store::open(&first.database_url).await?;
                    let relays =
                        yoyaku::mail::smtp::Relays::for_offices(cfgs.iter().map(|c| &c.smtp))?;
                    let mut desks = Vec::with_capacity(cfgs.len());
                    for cfg in cfgs {
                        desks.push(std::sync::Arc::new(
                            Desk::with_relays(cfg, &store, &relays).await?,
                        ));
                    }
                    web_server(desks, settings, Some(keeper), live, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
                };
                match started.await {
                    Ok(server) => {
                        let _ = ready_tx.send(Ok(()));
                        server.await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Ok(())
                    }
                }
            });
            let _ = done_tx.send(result);
        })
        .context("cannot start the staff page's thread")?;
    ready_rx
        .await
        .map_err(|_| anyhow::anyhow!("the staff page's thread ended at start"))??;
    Ok(async move {
        done_rx
            .await
            .map_err(|_| anyhow::anyhow!("the staff page's thread ended"))?
    })
}

/// Binds the staff page (and a separate metrics address) now, so a taken
/// port is an error at start; returns the server to run until `stop`.
pub(super) async fn web_server(
    desks: Vec<std::sync::Arc<Desk>>,
    settings: yoyaku::config::Web,
    keeper: Option<std::sync::Arc<yoyaku::desk::LeaseKeeper>>,
    live: Vec<std::sync::Arc<Desk>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<impl std::future::Future<Output = Result<()>>> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("web.listen {}: cannot listen", settings.listen))?;
    let metrics = match settings.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("web.metrics_listen {addr}: cannot listen"))?,
        ),
        None => None,
    };
    let app =
        std::sync::Arc::new(yoyaku::web::WebApp::new(desks, settings, keeper)?.with_live(live));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    Ok(async move {
        let stopping = async move {
            stop.await;
            let _ = stop_tx.send(true);
        };
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let page = yoyaku::web::serve(app.clone(), listener, until_stopped(stop_rx.clone()));
        let metrics = async {
            match metrics {
                Some(l) => {
                    yoyaku::web::serve_metrics(app.clone(), l, until_stopped(stop_rx.clone())).await
                }
                None => Ok(()),
            }
        };
        let ((), page, metrics) = futures::join!(stopping, page, metrics);
        page?;
        metrics?;
        Ok(())
    })
}

/// `yoyaku run`: every office's desk until a signal, their leases kept
/// together, and the staff page beside them when configured.
pub(super) async fn run(config: &Path) -> Result<ExitCode> {
    let cfgs = offices(config)?;
    let first = cfgs.first().context("no office in the config")?;
    let desk_cpu = pin(first);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    // A database that is locked or briefly unavailable at start
    // is waited for, like every other outage.
    let mut backoff = std::time::Duration::from_secs(1);
    let store = loop {
        match yoyaku::store::Store::open(&first.database_url).await {
            Ok(s) => break s,
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, retry_in_secs = backoff.as_secs(), "database not ready; retrying");
                tokio::select! {
                    _ = &mut shutdown => return Ok(ExitCode::SUCCESS),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
            }
            Err(e) => return Err(e.into()),
        }
    };
    // [daemon] is shared by every office.
    let lease = first.lease;
    let relays = yoyaku::mail::smtp::Relays::for_offices(cfgs.iter().map(|c| &c.smtp))?;
    tracing::info!(
        offices = cfgs.len(),
        relays = relays.len(),
        "smtp relays shared"
    );
    let web = first.web.clone();
    let web_cfgs = web.is_some().then(|| cfgs.clone());
    let mut desks = Vec::with_capacity(cfgs.len());
    for cfg in cfgs {
        desks.push(std::sync::Arc::new(
            Desk::with_relays(cfg, &store, &relays).await?,
        ));
    }
    // Every office's desk runs until the one signal stops them
    // all; their leases are renewed together.
    let keeper = std::sync::Arc::new(yoyaku::desk::LeaseKeeper::new(
        desks.iter().map(|d| d.office().config().office_id.as_str()),
        lease,
    ));
    // The staff page, when configured, is served beside the desks.
    let page = match (web, web_cfgs) {
        (Some(settings), Some(web_cfgs)) => Some(
            web_thread(
                web_cfgs,
                settings,
                keeper.clone(),
                desks.clone(),
                desk_cpu,
                stopped.clone(),
            )
            .await?,
        ),
        _ => None,
    };
    let page = async move {
        match page {
            Some(p) => p.await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(page);
    let keeping = {
        let mut stopped = stopped.clone();
        keeper.keep(&store, lease, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
    };
    tokio::pin!(keeping);
    let runs = desks.iter().map(|desk| {
        let mut stopped = stopped.clone();
        // Every line the desk logs names its office.
        let span = tracing::info_span!("office", id = %desk.office().config().office_id);
        tracing::Instrument::instrument(
            desk.serve(&keeper, async move {
                let _ = stopped.wait_for(|s| *s).await;
            }),
            span,
        )
    });
    let all = futures::future::try_join_all(runs);
    tokio::pin!(all);
    tokio::select! {
        r = &mut all => { r?; }
        _ = &mut shutdown => {
            let _ = stop.send(true);
            all.await?;
        }
        () = &mut keeping => {}
        r = &mut page => {
            // The page stopped on its own: a failure to report.
            let _ = stop.send(true);
            all.await?;
            r?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `yoyaku web`: the staff page alone.
pub(super) async fn web(config: &Path) -> Result<ExitCode> {
    let cfgs = offices(config)?;
    let first = cfgs.first().context("no office in the config")?;
    let settings = first
        .web
        .clone()
        .context("the config has no [web] section (listen = \"127.0.0.1:8080\")")?;
    let store = yoyaku::store::Store::open(&first.database_url).await?;
    let relays = yoyaku::mail::smtp::Relays::for_offices(cfgs.iter().map(|c| &c.smtp))?;
    let mut desks = Vec::with_capacity(cfgs.len());
    for cfg in cfgs {
        desks.push(std::sync::Arc::new(
            Desk::with_relays(cfg, &store, &relays).await?,
        ));
    }
    let served = web_server(desks, settings, None, Vec::new(), shutdown_signal()).await?;
    served.await?;
    Ok(ExitCode::SUCCESS)
}
