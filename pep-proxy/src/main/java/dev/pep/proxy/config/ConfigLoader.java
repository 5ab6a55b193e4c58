package dev.pep.proxy.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads {@code gateway.yaml}: binds it strictly (unknown keys are errors), then checks what
 * binding cannot (files exist, hosts are unique). Every problem names file, line, column and key.
 */
public final class ConfigLoader {

    private static final ObjectMapper MAPPER = JsonMapper.builder(new YAMLFactory())
            .propertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .addModule(new SimpleModule().addDeserializer(Duration.class, new DurationDeserializer()))
            .build();

    private ConfigLoader() {
    }

    /** Loads and checks a file; throws with every problem found. */
    public static GatewayConfig load(Path file) throws ConfigException {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw problem(name, 0, 0, "", "no such file");
        } catch (IOException e) {
            throw problem(name, 0, 0, "", "cannot read: " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        KeyLocations locations = KeyLocations.index(text);
        GatewayConfig config = bind(name, text, locations).withBaseDirectory(dir);
        List<ConfigProblem> problems = new ConfigValidator(name, locations).check(config);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    /** Loads and checks a connector's file ({@code pep connector --config}). */
    public static ConnectorConfig loadConnector(Path file) throws ConfigException {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw problem(name, 0, 0, "", "no such file");
        } catch (IOException e) {
            throw problem(name, 0, 0, "", "cannot read: " + e.getMessage());
        }
        KeyLocations locations = KeyLocations.index(text);
        ConnectorConfig config = bind(name, text, locations, ConnectorConfig.class, "'name', 'gateways' and 'apps'")
                .withBaseDirectory(file.toAbsolutePath().getParent());
        List<ConfigProblem> problems = new ConnectorValidator(name, locations).check(config);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    private static GatewayConfig bind(String name, String text, KeyLocations locations)
            throws ConfigException {
        return bind(name, text, locations, GatewayConfig.class, "at least 'tls'");
    }

    private static <T> T bind(String name, String text, KeyLocations locations, Class<T> type, String least)
            throws ConfigException {
        try {
            T config = MAPPER.readValue(text, type);
            if (config == null) {
                throw problem(name, 1, 1, "", "the file is empty; expected a mapping with " + least);
            }
            return config;
        } catch (UnrecognizedPropertyException e) {
            String expected = e.getKnownPropertyIds().stream().map(String::valueOf).sorted()
                    .collect(Collectors.joining(", "));
            throw located(name, locations, e, "unknown key '" + e.getPropertyName()
                    + "'; expected one of: " + expected);
        } catch (InvalidFormatException e) {
            throw located(name, locations, e, "invalid value '" + e.getValue() + "'; expected "
                    + expectedOf(e.getTargetType()));
        } catch (MismatchedInputException e) {
            String why = rootMessage(e);
            throw located(name, locations, e, why.startsWith("Cannot deserialize")
                    ? "wrong kind of value; expected " + expectedOf(e.getTargetType()) : why);
        } catch (JsonMappingException e) {
            throw located(name, locations, e, rootMessage(e));
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            throw problem(name, loc == null ? 0 : loc.getLineNr(), loc == null ? 0 : loc.getColumnNr(),
                    "", "not valid YAML: " + e.getOriginalMessage());
        }
    }

    private static ConfigException located(String name, KeyLocations locations,
            JsonMappingException e, String message) {
        String key = e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : Integer.toString(r.getIndex()))
                .collect(Collectors.joining("."));
        // The key's own position reads better than the parser's, which is past the value.
        int[] pos = locations.exact(key);
        if (pos == null) {
            JsonLocation loc = e.getLocation();
            pos = loc == null ? new int[] {0, 0} : new int[] {loc.getLineNr(), loc.getColumnNr()};
        }
        return problem(name, pos[0], pos[1], key, message);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof IllegalArgumentException || t instanceof NullPointerException) {
            return t.getMessage() == null ? "missing value" : t.getMessage();
        }
        String m = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    private static String expectedOf(Class<?> type) {
        if (type == null) {
            return "another kind of value";
        }
        if (type.isRecord() || java.util.Map.class.isAssignableFrom(type)) {
            return "a mapping (key: value)";
        }
        if (java.util.Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type.isEnum()) {
            List<String> values = new ArrayList<>();
            for (Object c : type.getEnumConstants()) {
                values.add(c.toString().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
            }
            return "one of " + values;
        }
        if (type == Integer.class || type == int.class) {
            return "a whole number";
        }
        return "a " + type.getSimpleName();
    }

    private static ConfigException problem(String file, int line, int col, String key, String msg) {
        return new ConfigException(List.of(new ConfigProblem(file, line, col, key, msg)));
    }

    /** Reads {@code 10s}-style durations, naming what was expected when it cannot. */
    private static final class DurationDeserializer extends JsonDeserializer<Duration> {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = p.getValueAsString();
            try {
                return Units.duration(text == null ? p.getText() : text);
            } catch (IllegalArgumentException e) {
                throw JsonMappingException.from(p, e.getMessage(), e);
            }
        }
    }
}
