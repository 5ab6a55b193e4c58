package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The shipped Grafana dashboard queries exactly the metrics docs/metrics.md documents. */
class GrafanaDashboardTest {

    private static final Pattern METRIC = Pattern.compile("pep_[a-z0-9_]+");

    @Test
    void dashboard_queriesEveryDocumentedMetricAndNoOther() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(
                Path.of("../config/grafana/pep-gateway.json").toFile());
        Set<String> queried = new TreeSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                assertThat(target.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
                Matcher m = METRIC.matcher(target.path("expr").asText());
                while (m.find()) {
                    queried.add(m.group().replaceAll("_bucket$", ""));
                }
            }
        }
        Set<String> documented = new TreeSet<>();
        Matcher m = Pattern.compile("^\\| `(pep_[a-z0-9_]+)` \\|", Pattern.MULTILINE)
                .matcher(Files.readString(Path.of("../docs/metrics.md")));
        while (m.find()) {
            documented.add(m.group(1));
        }

        assertThat(documented).hasSizeGreaterThan(30);
        assertThat(queried).isEqualTo(documented);
    }
}
