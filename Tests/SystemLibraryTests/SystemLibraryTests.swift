import CCurl
import CYAML
import Testing

/// The system-library modules build, link and work, including curl's variadic-call wrappers.
@Suite struct SystemLibraryTests {
    @Test func libyamlParsesADocument() {
        let text = Array("a: [1, 2]\n".utf8)
        var parser = yaml_parser_t()
        #expect(yaml_parser_initialize(&parser) == 1)
        defer { yaml_parser_delete(&parser) }
        var document = yaml_document_t()
        text.withUnsafeBufferPointer { yaml_parser_set_input_string(&parser, $0.baseAddress, $0.count) }
        #expect(yaml_parser_load(&parser, &document) == 1)
        defer { yaml_document_delete(&document) }
        let root = yaml_document_get_root_node(&document)
        #expect(root?.pointee.type == YAML_MAPPING_NODE)
    }

    @Test func curlWrappersSetAndReadOptions() throws {
        let version = String(cString: curl_version())
        #expect(version.hasPrefix("libcurl/"))
        let handle = try #require(curl_easy_init())
        defer { curl_easy_cleanup(handle) }
        #expect(runway_curl_easy_setopt_string(handle, CURLOPT_URL, "http://127.0.0.1:1/x") == CURLE_OK)
        #expect(runway_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 500) == CURLE_OK)
        var url: UnsafeMutablePointer<CChar>?
        #expect(runway_curl_easy_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK)
        #expect(url.map { String(cString: $0) } == "http://127.0.0.1:1/x")
        var code: Int = -1
        #expect(runway_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        #expect(code == 0)
    }
}
