package kg.launcher;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Runs an embedded Neo4j Community DBMS bound to 127.0.0.1 until SIGTERM/SIGINT.
 *
 * <p>Arguments: {@code --home DIR --bolt-port N --pagecache SIZE [--http-port N]}. The password of
 * the {@code neo4j} user comes from the environment variable {@code KG_NEO4J_PASSWORD} (never from
 * the command line, which other users can read in the process list) and is (re)set at every start:
 * this process owns the DBMS, so the environment is the source of truth.
 */
public final class KgNeo4j {
    static final String PASSWORD_ENV = "KG_NEO4J_PASSWORD";
    static final String LOOPBACK = "127.0.0.1";

    private KgNeo4j() {}

    public static void main(String[] args) {
        try {
            run(parse(args));
        } catch (Throwable e) {
            // One line first (the Python side shows the log tail), then the details.
            System.err.println("kg-neo4j: startup failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("bad argument: " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        for (String required : new String[] {"home", "bolt-port", "pagecache"}) {
            if (!options.containsKey(required)) {
                throw new IllegalArgumentException("missing --" + required);
            }
        }
        return options;
    }

    private static void run(Map<String, String> options) throws InterruptedException {
        String password = System.getenv(PASSWORD_ENV);
        if (password == null || password.isEmpty()) {
            throw new IllegalStateException(PASSWORD_ENV + " is not set");
        }
        Path home = Path.of(options.get("home")).toAbsolutePath();
        int boltPort = Integer.parseInt(options.get("bolt-port"));
        String httpPortOption = options.get("http-port");
        boolean http = httpPortOption != null;

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(options.get("pagecache")))
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(LOOPBACK, boltPort))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(LOOPBACK, boltPort))
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(HttpConnector.enabled, http)
                // Bolt waits this long per event loop after the databases have stopped (default 5 s each).
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 1);
        if (http) {
            int httpPort = Integer.parseInt(httpPortOption);
            builder.setConfig(HttpConnector.listen_address, new SocketAddress(LOOPBACK, httpPort))
                    .setConfig(HttpConnector.advertised_address, new SocketAddress(LOOPBACK, httpPort));
        }

        long started = System.nanoTime();
        DatabaseManagementService service = builder.build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("kg-neo4j: shutting down");
            service.shutdown();
            System.out.println("kg-neo4j: stopped");
            stopped.countDown();
        }, "kg-neo4j-shutdown"));

        setPassword(service, password);
        System.out.printf(
                "kg-neo4j: ready in %.1f s at bolt://%s:%d%s (home %s)%n",
                (System.nanoTime() - started) / 1e9,
                LOOPBACK,
                boltPort,
                http ? " and http://" + LOOPBACK + ":" + httpPortOption + "/browser/" : "",
                home);
        System.out.flush();
        stopped.await();
    }

    /** Sets the neo4j user's password; an unchanged password is not an error. */
    private static void setPassword(DatabaseManagementService service, String password) {
        try {
            service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME)
                    .executeTransactionally(
                            "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                            Map.of("password", password));
            System.out.println("kg-neo4j: password of user neo4j set from " + PASSWORD_ENV);
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            if (!message.contains("cannot be the same")) {
                throw e;
            }
            System.out.println("kg-neo4j: password of user neo4j unchanged");
        }
    }
}
