import CNghttp2

/// One HTTP/2 client connection's nghttp2 session and its streams in flight.
/// Streams finish out of order, so each has an entry (found through the
/// stream's user data) instead of a place in a FIFO.
final class H2Session {
    struct Stream {
        var variant: Int32 = -1
        var sentAt: UInt64 = 0
        var intended: UInt64 = 0
        var status: Int32 = 0
        var bodyOffset = 0
        var sampling = false
        /// The answer kept for checking (sampled streams only): each stream
        /// has its own, since streams finish in any order.
        var head: [UInt8] = []
        var body: [UInt8] = []
    }

    let session: OpaquePointer
    var streams: [Stream]
    var free: [Int32]
    var active = 0
    /// Bytes nghttp2 produced that the socket did not take yet.
    var pending: [UInt8] = []
    /// Set by callbacks for the worker: streams that completed, and failures.
    var completed: [(entry: Int32, ok: Bool)] = []
    var goaway = false
    weak var worker: LoadWorker?
    let slot: Int
    let table: H2RequestTable

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(worker: LoadWorker, slot: Int, maxStreams: Int, table: H2RequestTable) throws {
        self.worker = worker
        self.slot = slot
        self.table = table
        streams = [Stream](repeating: Stream(), count: maxStreams)
        free = (0..<Int32(maxStreams)).reversed().map { $0 }
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _, frame, name, namelen, value, valuelen, _, user in
            guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue), let user else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            me.header(
                streamID: frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: namelen),
                value: UnsafeBufferPointer(start: value, count: valuelen))
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) {
            session, _, streamID, data, length, user in
            guard let user else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            me.data(streamID: streamID, bytes: UnsafeBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { session, streamID, errorCode, user in
            guard let user else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            if let raw = nghttp2_session_get_stream_user_data(session, streamID) {
                me.completed.append((Int32(Int(bitPattern: raw) - 1), errorCode == 0))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return 0 }
            if frame.pointee.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) {
                Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue().goaway = true
            }
            return 0
        }
        var session: OpaquePointer?
        // The session's user data is this object, unretained: the worker owns both.
        let rc = nghttp2_session_client_new(&session, callbacks, nil)
        guard rc == 0, let session else { throw Failure(description: "nghttp2_session_client_new failed (\(rc))") }
        self.session = session
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())
        // A large window, as h2load uses, so flow control does not pace the load.
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: (1 << 30) - 1),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: 100),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, (1 << 30) - 1)
    }

    deinit { nghttp2_session_del(session) }

    /// Starts a stream for request `variant`; returns false when nghttp2 refuses it.
    func submit(variant: Int, now: UInt64, intended: UInt64, sampling: Bool) -> Bool {
        guard let e = free.popLast() else { return false }
        streams[Int(e)] = Stream(
            variant: Int32(variant), sentAt: now, intended: intended, status: 0, bodyOffset: 0, sampling: sampling)
        let user = UnsafeMutableRawPointer(bitPattern: Int(e) + 1)
        let id: Int32
        if table.bodyLengths[variant] == 0 {
            id = nghttp2_submit_request(session, nil, table.nvs[variant], table.nvCounts[variant], nil, user)
        } else {
            var provider = nghttp2_data_provider()
            provider.read_callback = { session, streamID, buffer, length, flags, _, user in
                guard let user, let raw = nghttp2_session_get_stream_user_data(session, streamID) else {
                    return ssize_t(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
                }
                let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
                let e = Int(bitPattern: raw) - 1
                let variant = Int(me.streams[e].variant)
                let n = me.table.copyBody(variant, from: me.streams[e].bodyOffset, into: buffer!, length: length)
                me.streams[e].bodyOffset += n
                if me.streams[e].bodyOffset == me.table.bodyLengths[variant] {
                    flags!.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
                }
                return n
            }
            id = nghttp2_submit_request(session, nil, table.nvs[variant], table.nvCounts[variant], &provider, user)
        }
        guard id > 0 else {
            free.append(e)
            return false
        }
        active += 1
        return true
    }

    /// Releases a finished stream's entry and returns it.
    func release(_ e: Int32) -> Stream {
        let stream = streams[Int(e)]
        streams[Int(e)].variant = -1
        streams[Int(e)].head = []
        streams[Int(e)].body = []
        free.append(e)
        active -= 1
        return stream
    }

    /// The send time of the oldest stream in flight, for the timeout sweep.
    var oldestSentAt: UInt64? {
        var oldest: UInt64?
        for stream in streams where stream.variant >= 0 { oldest = min(oldest ?? .max, stream.sentAt) }
        return oldest
    }

    private func entry(_ streamID: Int32) -> Int? {
        guard let raw = nghttp2_session_get_stream_user_data(session, streamID) else { return nil }
        return Int(bitPattern: raw) - 1
    }

    private func header(streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        guard let e = entry(streamID) else { return }
        if name.count == 7 && name.elementsEqual(":status".utf8) {
            var status: Int32 = 0
            for b in value where b >= 48 && b <= 57 { status = status * 10 + Int32(b - 48) }
            streams[e].status = status
            if streams[e].sampling { streams[e].head = Array("HTTP/2 \(status)".utf8) }
        } else if streams[e].sampling {
            streams[e].head += [13, 10] + Array(name) + Array(": ".utf8) + Array(value)
        }
    }

    private func data(streamID: Int32, bytes: UnsafeBufferPointer<UInt8>) {
        guard let e = entry(streamID) else { return }
        worker?.bytesRead += UInt64(bytes.count)
        if streams[e].sampling { streams[e].body += bytes }
    }
}
