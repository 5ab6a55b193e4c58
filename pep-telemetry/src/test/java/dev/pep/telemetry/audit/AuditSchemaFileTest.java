package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.core.AuditEvent;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Keeps config/schema/audit-event.schema.json in step with the code that writes events. */
class AuditSchemaFileTest {

    private static final Path SCHEMA = Path.of("..", "config", "schema",
            "audit-event.schema.json");

    private static JsonNode schema() throws IOException {
        return new ObjectMapper().readTree(SCHEMA.toFile());
    }

    @Test
    void schema_typeEnum_listsExactlyTheEventTypesOfAuditEvents() throws Exception {
        Set<String> declared = new TreeSet<>();
        for (Field f : AuditEvents.class.getDeclaredFields()) {
            if (Modifier.isPublic(f.getModifiers()) && f.getType() == String.class) {
                declared.add((String) f.get(null));
            }
        }
        Set<String> inSchema = new TreeSet<>();
        schema().at("/properties/type/enum").forEach(n -> inSchema.add(n.asText()));

        assertThat(inSchema).isEqualTo(declared);
    }

    @Test
    void schema_requiredKeys_areWrittenForAnEvent() throws Exception {
        AuditEvent event = Fixtures.events().logout("s", Fixtures.subject());
        Map<String, Object> tree = AuditJson.parse(AuditJson.encode(event, 1,
                AuditJson.GENESIS_HASH));
        List<String> required = new ArrayList<>();
        schema().get("required").forEach(n -> required.add(n.asText()));

        assertThat(tree).containsKeys(required.toArray(String[]::new));
        assertThat(schema().at("/properties/schema_version/const").asInt())
                .isEqualTo(AuditEvent.SCHEMA_VERSION);
    }
}
