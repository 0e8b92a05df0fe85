import Foundation

// The parts of the Docker Engine API (v1.41+) the launcher reads and writes. Field names are
// the API's own.

struct VersionInfo: Decodable {
    var ApiVersion: String
}

/// `POST /containers/create` body.
struct ContainerCreate: Encodable {
    struct Host: Encodable {
        var NetworkMode: String?
        var Binds: [String]?
        var Memory: Int64?
        var NanoCpus: Int64?
        var ExtraHosts: [String]?
        var Init: Bool?
    }

    var Image: String
    var Entrypoint: [String]?
    var Cmd: [String]
    var Env: [String]
    var Labels: [String: String]
    var User: String?
    var HostConfig: Host
}

struct ContainerCreated: Decodable {
    var Id: String
}

/// One entry of `GET /containers/json`.
struct ContainerSummary: Decodable {
    var Id: String
    var Names: [String]
    var Labels: [String: String]?
    var State: String
    var Created: Int64?
}

/// The parts of `GET /containers/{id}/json` the launcher needs.
struct ContainerInspect: Decodable {
    struct State: Decodable {
        var Status: String
        var ExitCode: Int32?
        var OOMKilled: Bool?
        var Error: String?
        var StartedAt: String?
    }

    struct Config: Decodable {
        var Labels: [String: String]?
    }

    var Id: String
    var Name: String
    var State: State
    var Config: Config?
}

/// One line of an image pull's progress stream.
struct PullProgress: Decodable {
    var status: String?
    var error: String?
}
