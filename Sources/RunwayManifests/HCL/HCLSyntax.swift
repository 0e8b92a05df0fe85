import RunwayModel

/// The HCL native syntax Runway's manifests use, as parsed: a body of attributes and blocks.
struct HCLBody {
    var items: [HCLItem] = []
}

enum HCLItem {
    /// `name = expression`
    case attribute(name: String, at: SourceLocation, value: HCLExpression)
    /// `type "label" … { body }`; `broken` when its body had syntax errors (it is then not
    /// decoded, so those errors are not followed by misleading ones about missing fields).
    case block(type: String, at: SourceLocation, labels: [(text: String, at: SourceLocation)], body: HCLBody, broken: Bool)
}

/// An expression of the subset: literals, tuples, objects, and the one function `env("NAME")`.
indirect enum HCLExpression {
    /// A string (quoted: true), or a number, `true`, `false`, `null` (quoted: false).
    case literal(String, quoted: Bool, at: SourceLocation)
    case tuple([HCLExpression], at: SourceLocation)
    case object([(key: String, at: SourceLocation, value: HCLExpression)], at: SourceLocation)
    /// `env("NAME")`: a secret taken from the controller's environment at launch.
    case env(String, at: SourceLocation)

    var location: SourceLocation {
        switch self {
        case .literal(_, _, let at), .tuple(_, let at), .object(_, let at), .env(_, let at): at
        }
    }
}
