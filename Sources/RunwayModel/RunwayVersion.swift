/// The version every Runway executable reports (`runway --version`, `runway-runner --version`).
public enum RunwayVersion {
    public static let current = "0.1.0"
}
