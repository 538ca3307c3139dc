package bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * jsvc: a small HTTP service on the JDK only (com.sun.net.httpserver, no Maven
 * dependencies). The JVM turns SIGTERM into an orderly shutdown that runs the hook
 * below, so `docker stop` returns as soon as the server has stopped (BP2).
 */
public final class Server {
    private Server() {}

    public static void main(String[] args) throws IOException {
        String host = args.length > 0 ? args[0] : "127.0.0.1";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
        Instant started = Instant.now();
        AtomicLong served = new AtomicLong();

        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
        server.createContext("/healthz", exchange -> reply(exchange, "ok\n"));
        server.createContext("/", exchange -> reply(exchange, String.format(
                "jsvc user=%s uptime=%ds served=%d java=%s%n",
                System.getProperty("user.name"),
                Duration.between(started, Instant.now()).toSeconds(),
                served.incrementAndGet(),
                Runtime.version())));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop(0);
            System.out.println("jsvc stopped");
        }));
        server.start();
        System.out.printf("jsvc listening on %s:%d%n", host, port);
    }

    private static void reply(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
