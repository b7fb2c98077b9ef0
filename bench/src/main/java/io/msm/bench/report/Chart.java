package io.msm.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.function.DoubleUnaryOperator;
import javax.imageio.ImageIO;

/**
 * Line charts drawn with Java2D into a PNG (headless; no plotting package to install): panels side
 * by side, each with log or linear axes, one line per series, solid or dashed.
 */
public final class Chart {
    private static final int PANEL_W = 620;
    private static final int PANEL_H = 440;
    private static final int TOP = 56;
    private static final int LEFT = 88;
    private static final int RIGHT = 24;
    private static final int BOTTOM = 58;

    private Chart() {}

    /** Points (x[i], y[i]); NaN or non-positive values on a log axis are skipped. */
    public record Series(String name, Color color, boolean dashed, double[] x, double[] y) {}

    public record Panel(
            String title,
            String xLabel,
            String yLabel,
            boolean logX,
            boolean logY,
            List<Series> series) {}

    public static void write(Path png, String title, String footer, List<Panel> panels)
            throws IOException {
        int w = PANEL_W * panels.size();
        int h = PANEL_H + 40;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(
                RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(title, 16, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(Color.DARK_GRAY);
        g.drawString(footer, 16, h - 10);
        for (int i = 0; i < panels.size(); i++) {
            drawPanel(g, panels.get(i), i * PANEL_W, 16);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static double t(double v, boolean log) {
        return log ? Math.log10(v) : v;
    }

    private static boolean usable(double v, boolean log) {
        return !Double.isNaN(v) && !Double.isInfinite(v) && (!log || v > 0);
    }

    private static void drawPanel(Graphics2D g, Panel p, int ox, int oy) {
        double minX = Double.MAX_VALUE,
                maxX = -Double.MAX_VALUE,
                minY = Double.MAX_VALUE,
                maxY = -Double.MAX_VALUE;
        for (Series s : p.series()) {
            for (int i = 0; i < s.x().length; i++) {
                if (usable(s.x()[i], p.logX()) && usable(s.y()[i], p.logY())) {
                    minX = Math.min(minX, t(s.x()[i], p.logX()));
                    maxX = Math.max(maxX, t(s.x()[i], p.logX()));
                    minY = Math.min(minY, t(s.y()[i], p.logY()));
                    maxY = Math.max(maxY, t(s.y()[i], p.logY()));
                }
            }
        }
        int x0 = ox + LEFT;
        int y0 = oy + TOP;
        int pw = PANEL_W - LEFT - RIGHT;
        int ph = PANEL_H - TOP - BOTTOM;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(p.title(), x0, oy + 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        if (minX == Double.MAX_VALUE) {
            g.drawString("(no data)", x0 + pw / 2 - 20, y0 + ph / 2);
            return;
        }
        if (p.logY()) {
            minY = Math.floor(minY);
            maxY = Math.ceil(maxY);
        } else {
            minY = Math.min(0, minY);
            maxY = maxY * 1.1;
        }
        if (maxY - minY < 1e-9) {
            maxY = minY + 1;
        }
        if (maxX - minX < 1e-9) {
            maxX = minX + 1;
        }
        double fMinX = minX, fMaxX = maxX, fMinY = minY, fMaxY = maxY;
        DoubleUnaryOperator px = v -> x0 + (t(v, p.logX()) - fMinX) / (fMaxX - fMinX) * pw;
        DoubleUnaryOperator py = v -> y0 + ph - (t(v, p.logY()) - fMinY) / (fMaxY - fMinY) * ph;

        // grid and tick labels
        g.setColor(new Color(0xDDDDDD));
        FontMetrics fm = g.getFontMetrics();
        if (p.logY()) {
            for (double e = minY; e <= maxY + 1e-9; e++) {
                int y = (int) py.applyAsDouble(Math.pow(10, e));
                g.setColor(new Color(0xDDDDDD));
                g.drawLine(x0, y, x0 + pw, y);
                g.setColor(Color.DARK_GRAY);
                String s = human(Math.pow(10, e));
                g.drawString(s, x0 - 6 - fm.stringWidth(s), y + 4);
            }
        } else {
            for (int k = 0; k <= 5; k++) {
                double v = minY + (maxY - minY) * k / 5;
                int y = (int) py.applyAsDouble(v);
                g.setColor(new Color(0xDDDDDD));
                g.drawLine(x0, y, x0 + pw, y);
                g.setColor(Color.DARK_GRAY);
                String s = human(v);
                g.drawString(s, x0 - 6 - fm.stringWidth(s), y + 4);
            }
        }
        TreeSet<Double> xs = new TreeSet<>();
        for (Series s : p.series()) {
            for (double v : s.x()) {
                if (usable(v, p.logX())) {
                    xs.add(v);
                }
            }
        }
        for (double v : xs) {
            int x = (int) px.applyAsDouble(v);
            g.setColor(new Color(0xEEEEEE));
            g.drawLine(x, y0, x, y0 + ph);
            g.setColor(Color.DARK_GRAY);
            String s = human(v);
            g.drawString(s, x - fm.stringWidth(s) / 2, y0 + ph + 16);
        }
        g.setColor(Color.BLACK);
        g.drawRect(x0, y0, pw, ph);
        g.drawString(p.xLabel(), x0 + pw / 2 - fm.stringWidth(p.xLabel()) / 2, y0 + ph + 34);
        Graphics2D gr = (Graphics2D) g.create();
        gr.rotate(-Math.PI / 2);
        gr.drawString(p.yLabel(), -(y0 + ph / 2 + fm.stringWidth(p.yLabel()) / 2), ox + 16);
        gr.dispose();

        // lines
        Stroke solid = new BasicStroke(2.2f);
        Stroke dashed =
                new BasicStroke(
                        2.2f,
                        BasicStroke.CAP_BUTT,
                        BasicStroke.JOIN_MITER,
                        10f,
                        new float[] {7f, 5f},
                        0f);
        for (Series s : p.series()) {
            g.setColor(s.color());
            g.setStroke(s.dashed() ? dashed : solid);
            int lastX = -1, lastY = -1;
            for (int i = 0; i < s.x().length; i++) {
                if (!usable(s.x()[i], p.logX()) || !usable(s.y()[i], p.logY())) {
                    lastX = -1;
                    continue;
                }
                int x = (int) px.applyAsDouble(s.x()[i]);
                int y = (int) py.applyAsDouble(s.y()[i]);
                if (lastX >= 0) {
                    g.drawLine(lastX, lastY, x, y);
                }
                g.fillOval(x - 3, y - 3, 7, 7);
                lastX = x;
                lastY = y;
            }
        }
        // the legend last, on a white box, so no line runs through it
        g.setColor(new Color(255, 255, 255, 230));
        g.fillRect(x0 + pw - 196, y0 + 2, 194, 15 * p.series().size() + 6);
        int legendY = y0 + 14;
        for (Series s : p.series()) {
            g.setColor(s.color());
            g.setStroke(s.dashed() ? dashed : solid);
            g.drawLine(x0 + pw - 190, legendY - 4, x0 + pw - 160, legendY - 4);
            g.setStroke(new BasicStroke(1f));
            g.setColor(Color.BLACK);
            g.drawString(s.name(), x0 + pw - 154, legendY);
            legendY += 15;
        }
        g.setStroke(new BasicStroke(1f));
    }

    /** 1500 -> "1.5k", 2e6 -> "2M". */
    public static String human(double v) {
        double a = Math.abs(v);
        if (a >= 1e9) {
            return trim(v / 1e9) + "G";
        }
        if (a >= 1e6) {
            return trim(v / 1e6) + "M";
        }
        if (a >= 1e3) {
            return trim(v / 1e3) + "k";
        }
        return trim(v);
    }

    private static String trim(double v) {
        String s = String.format("%.1f", v);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }
}
