import CCatCore

/// A folder the C core serves files from (Catzilla's `mount_static`): the
/// path checks, the HTTP rules and the sendfile are the core's, in C, on the
/// loop thread; a handler only names the folder.
///
///     let assets = try CCoreStaticFolder("/srv/assets")
///     try app.get("/static/{path:path}") { ex in ex.serveFile(assets, parameter: "path") }
///
/// or, with nothing else on the route, `try app.staticFiles("/static", folder: assets)`.
public final class CCoreStaticFolder: @unchecked Sendable {
    let mount: OpaquePointer
    public let path: String

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ path: String) throws {
        var message = [CChar](repeating: 0, count: 512)
        guard let mount = cc_static_open(path, &message, message.count) else {
            throw OpenError(
                description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.mount = mount
        self.path = path
    }

    deinit { cc_static_close(mount) }
}

extension CCoreApp {
    /// Serves `folder` under `prefix` (GET and HEAD of `prefix/<path>`) by the C core's static server.
    public func staticFiles(_ prefix: String, folder: CCoreStaticFolder, middleware: [CCoreMiddleware] = []) throws {
        try get(prefix + "/{path:path}", middleware: middleware) { ex in ex.serveFile(folder, parameter: "path") }
    }
}
