package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The JSON Schema editors use must agree with the files the gateway ships and accepts. */
class GatewaySchemaTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest
    @ValueSource(strings = {"../config/quickstart.yaml", "../config/gateway.yaml"})
    void shippedConfig_matchesSchema(String file) throws Exception {
        Set<ValidationMessage> errors = schema().validate(YAML.readTree(Path.of(file).toFile()));

        assertThat(errors).isEmpty();
    }

    @Test
    void misspelledKey_failsSchema() throws Exception {
        JsonNode doc = YAML.readTree("tls: { development-ca: {} }\napps: { a: { hosts: [a.example], upsteam: pep:echo } }\n");

        assertThat(schema().validate(doc)).isNotEmpty();
    }

    @Test
    void everySchemaKey_isDocumented() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(Path.of("../config/schema/gateway.schema.json").toFile());
        String doc = Files.readString(Path.of("../docs/configuration.md"));

        java.util.List<String> missing = new java.util.ArrayList<>();
        collectKeys(schema, missing, doc);
        assertThat(missing).as("keys of the schema missing from docs/configuration.md").isEmpty();
    }

    private static void collectKeys(JsonNode node, java.util.List<String> missing, String doc) {
        if (!node.isObject()) {
            return;
        }
        node.path("properties").fields().forEachRemaining(e -> {
            if (!doc.contains("`" + e.getKey() + "`")) {
                missing.add(e.getKey());
            }
            collectKeys(e.getValue(), missing, doc);
        });
        collectKeys(node.path("items"), missing, doc);
        if (node.path("additionalProperties").isObject()) {
            collectKeys(node.path("additionalProperties"), missing, doc);
        }
    }

    private static JsonSchema schema() throws Exception {
        try (InputStream in = Files.newInputStream(Path.of("../config/schema/gateway.schema.json"))) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        }
    }
}
