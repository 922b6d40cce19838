import SuiteKit
import ThreadedStack
import WireFormat

/// The files suite on the threaded stack: a route whose handler returns the
/// file (Flask's `send_from_directory`), written by the worker thread with
/// blocking reads and writes of 64 KiB blocks.
extension FilesSuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let files = try StaticFiles(folder: try context.services.require(StaticFolderService.self).folder)
        try app.route("/static/<path:path>") { request in
            .file(files, path: request.pathParameters["path"] ?? "", for: request)
        }
    }
}
