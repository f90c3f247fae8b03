import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET streamed to the end of an open file, through URLSession (libcurl on Linux).
/// Resumes with a `Range` header when the file already holds a prefix; hashes every byte
/// that ends up in the file (SHA-256, and MD5 for S3 ETags).
///
/// This is the only networking code in libelmo: it lives in the `elmo` command, never in
/// the `Elmo` library or libelmo.so.
final class HTTPDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Result {
        /// The file's full size as the server announced it (Content-Length or the total of
        /// Content-Range), if it did.
        var totalSize: Int?
        /// The ETag header, quotes removed.
        var etag: String?
        var sha256: String
        var md5: String
        /// Bytes in the file at the end.
        var size: Int
    }

    enum Failure: Error {
        /// No response at all (DNS, refused connection, no route, TLS...).
        case unreachable(URLError)
        /// The transfer broke off after `received` bytes of this response.
        case interrupted(URLError, received: Int)
        /// The server answered with an error status.
        case status(Int)
        /// 416: the partial file is not a prefix the server can continue.
        case rangeNotSatisfiable
        /// A 206 whose range does not start where the partial file ends.
        case wrongRange(String)
        /// Writing the file failed.
        case write(String)
    }

    private let url: URL
    private let fd: Int32
    private let path: String
    private let progress: (_ have: Int, _ total: Int?) -> Void
    private var offset: Int
    private var sha = SHA256()
    private var md5 = MD5()
    private var totalSize: Int?
    private var etag: String?
    private var received = 0
    private var failure: Failure?
    /// A 416 said the partial file is already the whole file.
    private var alreadyComplete = false
    private let done = DispatchSemaphore(value: 0)

    /// `fd` is open for writing and holds `existing` bytes that are the start of the file;
    /// they are hashed before the request is made.
    init(url: URL, fd: Int32, path: String, existing: Int, progress: @escaping (Int, Int?) -> Void) throws {
        self.url = url
        self.fd = fd
        self.path = path
        self.offset = existing
        self.progress = progress
        super.init()
        if existing > 0 {
            try forEachChunk(ofFile: path) { chunk in
                sha.update(chunk)
                md5.update(chunk)
            }
        }
    }

    /// Runs the request to completion.
    func run() throws -> Result {
        var request = URLRequest(url: url)
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60  // seconds without data before giving up
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        session.dataTask(with: request).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        if let failure { throw failure }
        return Result(totalSize: totalSize, etag: etag, sha256: hexString(sha.finalize()), md5: hexString(md5.finalize()), size: offset)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            failure = .status(0)
            completionHandler(.cancel)
            return
        }
        etag = (http.value(forHTTPHeaderField: "ETag")).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        switch http.statusCode {
        case 200:
            // A full body: start the file over.
            if offset > 0 {
                guard ftruncate(fd, 0) == 0 else {
                    failure = .write("\(path): cannot truncate: \(describeErrno())")
                    completionHandler(.cancel)
                    return
                }
                offset = 0
                sha = SHA256()
                md5 = MD5()
            }
            totalSize = http.expectedContentLength >= 0 ? Int(http.expectedContentLength) : nil
            completionHandler(.allow)
        case 206:
            let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
            guard let (start, total) = HTTPDownload.parseContentRange(range), start == offset else {
                failure = .wrongRange(range)
                completionHandler(.cancel)
                return
            }
            totalSize = total
            completionHandler(.allow)
        case 416:
            // "bytes */N": when N is what the partial file already holds, it is the whole file
            // (a run that stopped between the last byte and the rename); it is verified as usual.
            let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
            if offset > 0, let total = HTTPDownload.parseUnsatisfiedRange(range), total == offset {
                totalSize = total
                alreadyComplete = true
            } else {
                failure = .rangeNotSatisfiable
            }
            completionHandler(.cancel)
        default:
            failure = .status(http.statusCode)
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = .write("\(path): write failed: \(describeErrno())")
                    dataTask.cancel()
                    return
                }
                written += n
            }
            sha.update(bytes)
            md5.update(bytes)
        }
        offset += data.count
        received += data.count
        progress(offset, totalSize)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if failure == nil, !alreadyComplete, let error {
            let urlError = error as? URLError ?? URLError(.unknown)
            failure = received > 0 || totalSize != nil ? .interrupted(urlError, received: received) : .unreachable(urlError)
        }
        done.signal()
    }

    /// "bytes */5000" (the form a 416 answer carries) -> 5000.
    static func parseUnsatisfiedRange(_ value: String) -> Int? {
        let v = value.trimmingCharacters(in: .whitespaces)
        guard v.lowercased().hasPrefix("bytes */") else { return nil }
        return Int(v.dropFirst("bytes */".count))
    }

    /// "bytes 100-199/5000" -> (100, 5000); the total is nil for "*".
    static func parseContentRange(_ value: String) -> (Int, Int?)? {
        let parts = value.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 2, parts[0].lowercased() == "bytes" else { return nil }
        let rangeAndTotal = parts[1].split(separator: "/")
        guard rangeAndTotal.count == 2, let dash = rangeAndTotal[0].firstIndex(of: "-"),
              let start = Int(rangeAndTotal[0][..<dash]) else { return nil }
        return (start, Int(rangeAndTotal[1]))
    }
}
