//! Attacks on the `spec_server` program: slow heads, stalled readers, idle floods over a low file limit, huge batches and oversize bodies.

#[allow(unused_imports)]
use super::limits::*;
#[allow(unused_imports)]
use super::shutdown::*;
#[allow(unused_imports)]
use super::spec_server::*;
#[allow(unused_imports)]
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn slow_heads_are_dropped_at_the_header_timeout() {
    let server = SpecServer::start(4096, &["--header-timeout", "1500"]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let mut head = b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nX-Pad: ".to_vec();
    head.resize(head.len() + 8 * 1024, b'a');
    let mut attackers = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connects");
        stream.write_all(&head).await.expect("sends part of a head");
        attackers.push(stream);
    }
    let latency = honest_call(&server.url()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = server.rss_kib();
    let closed = futures_util::future::join_all(
        attackers
            .iter_mut()
            .map(|s| closed_by_server(s, Duration::from_secs(4))),
    )
    .await;
    let peak = sampler.peak_kib();
    let after = server.rss_kib();
    eprintln!(
        "slow heads: rss before {before} KiB, during {during} KiB, peak {peak} KiB, after {after} KiB, honest call {latency:?}"
    );
    assert!(
        closed.iter().all(|(closed, _)| *closed),
        "a slow head was kept open"
    );
    // Each unfinished head holds at most the 64 KiB head limit (before: ~400 KiB each).
    assert!(
        peak < before + 64 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(
        latency < Duration::from_secs(1),
        "honest call took {latency:?}"
    );
    honest_call(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn readers_that_stall_are_closed_at_the_send_timeout() {
    let server = SpecServer::start(4096, &["--send-timeout", "1000"]);
    let (request, full) = discover_batch(&server).await;
    let before = server.rss_kib();
    let mut peaks = Vec::new();
    for wave in 0..2 {
        let sampler = server.sample_rss();
        let mut attackers = Vec::new();
        for _ in 0..40 {
            let socket = TcpSocket::new_v4().expect("a socket");
            // A small window keeps the answer in the server, not in the kernel's buffers.
            socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
            let mut stream = socket.connect(server.addr).await.expect("connects");
            stream.write_all(request.as_bytes()).await.expect("sends");
            attackers.push(stream);
        }
        let latency = honest_call(&server.url()).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let closed = futures_util::future::join_all(
            attackers
                .iter_mut()
                .map(|s| closed_by_server(s, Duration::from_secs(3))),
        )
        .await;
        let peak = sampler.peak_kib();
        eprintln!(
            "stalled readers, wave {wave}: rss before {before} KiB, peak {peak} KiB, now {} KiB, honest call {latency:?}",
            server.rss_kib()
        );
        for (closed, received) in closed {
            assert!(closed, "a stalled reader was kept open");
            assert!(received < full, "a stalled reader got all {full} bytes");
        }
        // The attack's own answers are being made on the same two cores.
        assert!(
            latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
        peaks.push(peak);
    }
    // The answers' memory is reused wave after wave, not kept: the second wave does not add
    // another wave's worth (about 130 MB); the margin is the allocator's and the machine's.
    assert!(
        peaks[1] < peaks[0] + 64 * MIB,
        "peaks {peaks:?} KiB from {before} KiB"
    );
    honest_call(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn readers_that_stall_past_the_unsent_budget_are_closed_first() {
    // The send timeout stays at its 60 s: the budget alone must close them.
    let server = SpecServer::start(4096, &["--max-unsent-bytes", "16000000"]);
    let (request, full) = discover_batch(&server).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let mut attackers = Vec::new();
    for _ in 0..40 {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut stream = socket.connect(server.addr).await.expect("connects");
        stream.write_all(request.as_bytes()).await.expect("sends");
        attackers.push(stream);
    }
    let latency = honest_call(&server.url()).await;
    // The answers take a few seconds to make on a debug build; none is read meanwhile.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut closed = 0;
    for stream in &mut attackers {
        // A closed connection still delivers what its socket's kernel buffer held, then ends
        // short of the answer; an open one sends the whole answer and stays open.
        let (ended, received) = closed_by_server(stream, Duration::from_secs(1)).await;
        if ended && received < full {
            closed += 1;
        }
    }
    let peak = sampler.peak_kib();
    eprintln!(
        "stalled readers over the budget: rss before {before} KiB, peak {peak} KiB, closed {closed} of 40, honest call {latency:?}"
    );
    // 40 answers of 3 MB are 130 MB; about 16 MB of them may wait at once.
    assert!(closed >= 30, "only {closed} stalled readers were closed");
    assert!(
        peak < before + 64 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(
        latency < Duration::from_secs(2),
        "honest call took {latency:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn idle_flood_over_the_file_limit_still_serves_new_clients() {
    // 256 files: at most 240 connections; twice as many idle ones are thrown at it.
    let mut server = SpecServer::start(256, &[]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let call = br#"{"jsonrpc":"2.0","method":"subtract","params":[1,1],"id":1}"#;
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        call.len()
    );
    let mut idle = Vec::new();
    for i in 0..480 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connects");
        // Half of them made one call and stay open (keep-alive); half never send a byte.
        if i % 2 == 0 && i < 200 {
            stream.write_all(request.as_bytes()).await.expect("sends");
            stream.write_all(call).await.expect("sends");
            let mut buf = [0; 1024];
            let n = stream.read(&mut buf).await.expect("answered");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        }
        idle.push(stream);
    }
    let mut latencies = Vec::new();
    for _ in 0..5 {
        latencies.push(honest_call(&server.url()).await);
    }
    let peak = sampler.peak_kib();
    let mut evicted = 0;
    for stream in &mut idle {
        if closed_by_server(stream, Duration::from_millis(5)).await.0 {
            evicted += 1;
        }
    }
    eprintln!(
        "idle flood: rss before {before} KiB, peak {peak} KiB, idle connections closed {evicted} of {}, honest calls {latencies:?}",
        idle.len()
    );
    server.assert_alive();
    assert!(evicted > 0, "no idle connection was closed to make room");
    for latency in &latencies {
        assert!(
            *latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
    }
    assert!(
        peak < before + 32 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn huge_batches_are_refused_while_parsed() {
    let server = SpecServer::start(4096, &[]);
    honest_call(&server.url()).await;
    // 5 million one-byte items: just under the 10 MiB body limit.
    let mut body = String::with_capacity(10_000_001);
    body.push('[');
    for _ in 0..4_999_999 {
        body.push_str("1,");
    }
    body.push_str("1]");
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let url = server.url();
        let honest = tokio::spawn(async move { honest_call(&url).await });
        let answer = client
            .post(server.url())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("answered")
            .bytes()
            .await
            .expect("read");
        let answer: Value = serde_json::from_slice(&answer).expect("JSON");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert_eq!(
            answer["error"]["data"],
            "a batch holds at most 1024 calls, this one 5000000"
        );
        let latency = honest.await.expect("the honest call does not panic");
        assert!(
            latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
    }
    let peak = sampler.peak_kib();
    eprintln!("huge batches: rss before {before} KiB, peak {peak} KiB");
    // The body itself (10 MB), and no more than the limit's worth of calls (before: +390 MB).
    assert!(
        peak < before + 40 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}

/// Sends `request` on a new connection and returns everything the server sends back until it
/// closes the connection or goes quiet for `quiet`.
pub(crate) async fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("sends");
    let mut answer = Vec::new();
    let mut buf = [0; 8192];
    while let Ok(Ok(n)) = tokio::time::timeout(quiet, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn oversize_bodies_are_refused_before_they_are_read() {
    let server = SpecServer::start(4096, &[]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();

    // `Expect: 100-continue` with 200 MiB announced: 413 at once, without `100 Continue`.
    let answer = exchange(
        server.addr,
        b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 209715200\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");

    // A chunked body without a length, streamed past the limit: 413, and the server stops
    // reading it.
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    stream
        .write_all(b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("sends");
    let chunk = format!("100000\r\n{}\r\n", " ".repeat(0x100000));
    let mut sent = 0;
    for _ in 0..64 {
        let write = stream.write_all(chunk.as_bytes());
        match tokio::time::timeout(Duration::from_secs(2), write).await {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(sent < 64, "the server read all 64 MiB");

    // Broken chunked framing is a bad request, not a large one.
    let answer = exchange(
        server.addr,
        b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // A head over the 64 KiB limit.
    let mut big = b"GET /rpc HTTP/1.1\r\nHost: localhost\r\nX-Big: ".to_vec();
    big.resize(big.len() + 70_000, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(server.addr, &big, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // `HEAD` is `GET` (the explorer page) without the body.
    let get = exchange(
        server.addr,
        b"GET /rpc HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    let head = exchange(
        server.addr,
        b"HEAD /rpc HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        get.starts_with("HTTP/1.1 200") && head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let (get_head, get_body) = get.split_once("\r\n\r\n").expect("a head");
    assert!(get_body.contains("<html"), "{get_body}");
    assert!(head.ends_with("\r\n\r\n"), "HEAD got a body: {head}");
    let length = |h: &str| {
        h.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-length:"))
            .map(|l| l.to_owned())
    };
    assert_eq!(length(get_head), length(&head));

    let latency = honest_call(&server.url()).await;
    let peak = sampler.peak_kib();
    eprintln!("oversize bodies: rss before {before} KiB, peak {peak} KiB, honest call {latency:?}");
    assert!(
        peak < before + 24 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}
