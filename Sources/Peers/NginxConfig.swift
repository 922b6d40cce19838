import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The nginx peer: the reference for "how fast can this machine answer at
/// all", serving the basic suite's two static answers. catbench writes the
/// whole configuration itself into the peer's scratch folder, so nothing of
/// the system's nginx setup is used or touched.
enum NginxConfig {
    static func text(_ launch: PeerLaunch) -> String {
        let listen = launch.host.contains(":") ? "[\(launch.host)]:\(launch.port)" : "\(launch.host):\(launch.port)"
        // As root, nginx hands its workers to an unprivileged user; Debian has
        // no "nobody" group, so name one that exists.
        let user = getuid() == 0 ? "user nobody nogroup;\n" : ""
        return """
            # Written by catbench for one run; see `catbench peers list`.
            \(user)worker_processes \(launch.workers);
            daemon off;
            master_process on;
            pid \(launch.scratch)/nginx.pid;
            error_log \(launch.scratch)/error.log warn;
            events {
                worker_connections 16384;
            }
            http {
                access_log off;
                keepalive_requests 100000000;
                keepalive_timeout 75s;
                client_body_temp_path \(launch.scratch)/client_body;
                proxy_temp_path \(launch.scratch)/proxy;
                fastcgi_temp_path \(launch.scratch)/fastcgi;
                uwsgi_temp_path \(launch.scratch)/uwsgi;
                scgi_temp_path \(launch.scratch)/scgi;
                server {
                    listen \(listen) reuseport backlog=4096;
                    location = /plaintext {
                        default_type text/plain;
                        return 200 'Hello, World!';
                    }
                    location = /json {
                        default_type application/json;
                        return 200 '{"message":"Hello, World!"}';
                    }
            \(staticLocation(launch))
                    location / {
                        return 404;
                    }
                }
            }

            """
    }

    /// The files suite's folder, when the run has one: nginx's own static
    /// serving (sendfile, ETag, ranges, If-Modified-Since) as a deployment
    /// sets it up, with `disable_symlinks on` so a link out of the folder is
    /// not followed (nginx follows links by default).
    static func staticLocation(_ launch: PeerLaunch) -> String {
        guard let folder = launch.services["CATBENCH_STATIC_DIR"] else { return "" }
        return """
                    location /static/ {
                        alias \(folder)/;
                        sendfile on;
                        tcp_nopush on;
                        disable_symlinks on;
                        default_type application/octet-stream;
                        types {
                            text/plain txt;
                            text/html html;
                            text/css css;
                            application/octet-stream bin;
                        }
                    }
            """
    }

    static func write(_ launch: PeerLaunch) throws {
        try FileSystem.writeAtomically(Array(text(launch).utf8), to: "\(launch.scratch)/nginx.conf")
    }

    /// "1.22.1" from `nginx -v` (which prints to standard error).
    static func version(of nginx: String) -> String? {
        guard let folder = try? FileSystem.temporaryDirectory(prefix: "catbench-nginx-version") else { return nil }
        defer { FileSystem.removeTree(folder) }
        let log = "\(folder)/out"
        guard let child = try? ChildProcess.spawn([nginx, "-v"], logPath: log), child.wait(seconds: 10) == .exited(0)
        else { return nil }
        let text = ChildProcess.tail(of: log, lines: 5)
        guard let slash = text.firstIndex(of: "/") else { return nil }
        return String(text[text.index(after: slash)...].prefix { !$0.isWhitespace })
    }
}
