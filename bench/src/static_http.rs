//! The ceiling of the server suite: a minimal HTTP/1.1 responder that answers every
//! request on a keep-alive connection with the same bytes from memory.
//!
//! It does nothing a real server could skip — no routing, no catalog read, no headers
//! beyond `Content-Type` and `Content-Length` — so the rate the suite's load generator
//! reaches against it, with the same body and the same number of connections, is what
//! this machine's loopback TCP, memory copies and load generator allow. A `loadTable`
//! rate close to it is bound by moving the bytes, not by Floe.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::Result;

/// A running responder on its own Tokio runtime (2 worker threads, like `floe serve` on
/// this machine); stopped when dropped.
pub struct StaticHttp {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl StaticHttp {
    /// Starts answering `200 OK` with `body` (as `content_type`) to every request.
    pub fn start(body: &[u8], content_type: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        let response: Arc<[u8]> = Arc::from(response);
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?.to_string();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let response = Arc::clone(&response);
                tokio::spawn(async move {
                    // A connection ends when its client closes it (or on an I/O error).
                    let _ = serve(stream, &response).await;
                });
            }
        });
        Ok(Self {
            addr,
            runtime: Some(runtime),
        })
    }
}

impl Drop for StaticHttp {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Answers each request (its header lines up to the empty one) with `response`.
async fn serve(stream: TcpStream, response: &[u8]) -> Result<()> {
    stream.set_nodelay(true)?;
    let mut stream = BufReader::with_capacity(16 * 1024, stream);
    let mut line = Vec::with_capacity(256);
    loop {
        // Read one request's header block.
        loop {
            line.clear();
            if stream.read_until(b'\n', &mut line).await? == 0 {
                return Ok(());
            }
            if line == b"\r\n" || line == b"\n" {
                break;
            }
        }
        stream.get_mut().write_all(response).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn answers_every_request_of_a_connection_with_the_body() {
        let server = StaticHttp::start(b"{\"a\":1}", "application/json").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut s = TcpStream::connect(&server.addr).await.unwrap();
            let request = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
            let expected = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
            for _ in 0..3 {
                s.write_all(request).await.unwrap();
                let mut got = vec![0; expected.len()];
                s.read_exact(&mut got).await.unwrap();
                assert_eq!(String::from_utf8(got).unwrap(), expected);
            }
        });
    }
}
