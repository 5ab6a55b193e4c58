package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The policy JSON Schema editors use must accept the policy files the project ships. */
class PolicySchemaTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path POLICIES = Path.of("../config/policies");

    static List<Path> shippedPolicies() throws IOException {
        try (Stream<Path> files = Files.list(POLICIES)) {
            List<Path> yaml = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
            assertThat(yaml).as("policy files in " + POLICIES).isNotEmpty();
            return yaml;
        }
    }

    @ParameterizedTest
    @MethodSource("shippedPolicies")
    void shippedPolicy_matchesSchema(Path file) throws Exception {
        Set<ValidationMessage> errors = schema().validate(YAML.readTree(file.toFile()));

        assertThat(errors).as(file.toString()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "apps: { a: { hosts: [a.example], upsteam: \"pep:echo\" } }\n",
        "rules: [ { id: r, effect: permit, when: \"true\" } ]\n",
        "rules: [ { id: r, effect: allow, when: \"true\", obligations: { isolation: ro } } ]\n",
        "rules: [ { id: r, effect: allow, condition: \"true\" } ]\n"})
    void brokenPolicy_failsSchema(String yaml) throws Exception {
        assertThat(schema().validate(YAML.readTree(yaml))).isNotEmpty();
    }

    @Test
    void minimalPolicy_matchesSchema() throws Exception {
        String yaml = """
                apps: { a: { hosts: [a.example], upstream: "pep:echo" } }
                rules: [ { id: r, apps: [a], effect: allow, when: "true" } ]
                """;

        assertThat(schema().validate(YAML.readTree(yaml))).isEmpty();
    }

    private static JsonSchema schema() throws Exception {
        try (InputStream in = Files.newInputStream(Path.of("../config/schema/policy.schema.json"))) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        }
    }
}
