// The console's graphs in a real browser (Playwright driving Debian's
// chromium, client certificate over mTLS): the node page draws every graph
// from /api/metrics/series with uPlot served by the suite itself, the legend
// shows values under the cursor, each range has data, the busiest links
// carry sparklines, the topology opens a node on click, in English and
// Chinese, and no Content-Security-Policy violation or console error happens
// on the way. With EGOV_DOCS_SCREENSHOTS=1 the pages are saved under docs/.

import { expect, describe, it } from 'vitest';
import type { Person } from './support/desk.js';
import { useBrowserDesk, type Watched } from './support/browser.js';
import { addGraphNetwork, writeGraphSamples } from './support/graph-data.js';

let admin: Person;
const console_ = useBrowserDesk('graphs', async (desk) => {
  const monitor = desk.started.monitor;
  await addGraphNetwork(monitor.inventory);
  await writeGraphSamples(monitor.metrics, Date.now());
  const rollup = await desk.started.jobs.runNow('metrics.rollup');
  expect(rollup.ok).toBe(true);
  admin = await desk.person('Net Admin Zhao', ['network-admin']);
});

/** A page as `who`, recording CSP violations (the browser's own event), console errors and failed requests. */
const open = (who: Person, locale = 'en-GB'): Promise<Watched> => console_.open(who, { locale, viewport: { width: 1280, height: 900 }, watch: 'all' });
const shot = (page: Watched['page'], name: string) => console_.shot(page, name);

async function allDrawn(page: Watched['page']): Promise<void> {
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('.graph[data-measurement]')].every((g) => g.dataset.drawn === 'true' || g.classList.contains('graph-empty') || g.classList.contains('graph-error')), undefined, { timeout: 20_000 });
}

describe('graphs in chromium', () => {
  it('the node page draws every graph with data in every range, and the legend shows values under the cursor', async () => {
    const { context, page, problems } = await open(admin);
    for (const range of ['1h', '6h', '24h', '7d', '30d']) {
      await page.goto(`${console_.desk.secureBase}/status/nodes/city-core?range=${range}`);
      await allDrawn(page);
      const state = await page.$$eval('.graph[data-measurement]', (graphs) =>
        graphs.map((g) => ({ id: g.id, drawn: (g as HTMLElement).dataset.drawn === 'true', points: Number((g as HTMLElement).dataset.points ?? 0), canvas: !!g.querySelector('canvas'), text: g.classList.contains('graph-error') ? g.textContent : '' })),
      );
      // CPU/memory, storage, RTT, and three graphs for each of the two interfaces.
      expect(state).toHaveLength(3 + 2 * 3);
      for (const g of state) expect(g, `${range} ${g.id}`).toMatchObject({ drawn: true, canvas: true, text: '' });
      for (const g of state) expect(g.points, `${range} ${g.id}`).toBeGreaterThan(1);
      // The canvas has ink on it: some pixels are not the background.
      const inked = await page.$eval('#graph-traffic-0 canvas', (c) => {
        const canvas = c as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && !(data[i]! > 240 && data[i + 1]! > 240 && data[i + 2]! > 240)) coloured++;
        return coloured;
      });
      expect(inked).toBeGreaterThan(200);
    }
    // Hover: the legend shows the value under the cursor.
    await page.goto(`${console_.desk.secureBase}/status/nodes/city-core?range=24h`);
    await allDrawn(page);
    const before = await page.locator('#graph-traffic-0 .u-legend .u-series').nth(1).locator('.u-value').textContent();
    const over = await page.locator('#graph-traffic-0 .u-over').boundingBox();
    await page.mouse.move(over!.x + over!.width * 0.6, over!.y + over!.height / 2);
    await page.mouse.move(over!.x + over!.width * 0.62, over!.y + over!.height / 2);
    const after = await page.locator('#graph-traffic-0 .u-legend .u-series').nth(1).locator('.u-value').textContent();
    expect(before).not.toMatch(/bit\/s/);
    expect(after).toMatch(/\d+(\.\d+)? [kMG]?bit\/s/);
    await shot(page, 'graphs-node.png');
    // The same page in Chinese.
    await page.goto(`${console_.desk.secureBase}/status/nodes/city-core?range=7d&lang=zh-CN`);
    await allDrawn(page);
    await expect(page.locator('#node-graphs h2').textContent()).resolves.toBe('图表');
    await shot(page, 'graphs-node-zh.png');
    await page.goto(`${console_.desk.secureBase}/status/nodes/city-core?range=7d&lang=en`);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('the busiest links carry a sparkline, the topology opens a node on click, and a bad range is refused', async () => {
    const { context, page, problems } = await open(admin);
    await page.goto(`${console_.desk.secureBase}/status`);
    const sparks = await page.locator('#worst-links svg.spark polyline').count();
    expect(sparks).toBeGreaterThanOrEqual(2);
    await shot(page, 'status-sparklines.png');
    await page.goto(`${console_.desk.secureBase}/topology`);
    await expect(page.locator('#nav-topology').getAttribute('aria-current')).resolves.toBe('page');
    const states = await page.$$eval('#topology a.node', (nodes) => Object.fromEntries(nodes.map((n) => [n.getAttribute('data-node'), n.getAttribute('data-state')])));
    expect(states).toMatchObject({ 'city-core': 'up', 'county-a': 'up', 'county-b': 'down', 'town-a1': 'unknown' });
    expect(await page.locator('#topology line.link').count()).toBe(3);
    await shot(page, 'topology.png');
    await page.locator('#topology a.node[data-node="county-a"] circle').click();
    await page.waitForURL(/\/status\/nodes\/county-a/);
    await allDrawn(page);
    await page.goto(`${console_.desk.secureBase}/topology?lang=zh-CN`);
    await expect(page.locator('h1').textContent()).resolves.toBe('拓扑');
    await shot(page, 'topology-zh.png');
    const bad = await page.goto(`${console_.desk.secureBase}/status/nodes/city-core?range=2w&lang=en`);
    expect(bad!.status()).toBe(400);
    await expect(page.locator('.flash.error').textContent()).resolves.toMatch(/range must be one of 1h, 6h, 24h, 7d, 30d/);
    expect(problems.filter((p) => !/^400 .*range=2w/.test(p))).toEqual([]);
    await context.close();
  }, 120_000);
});
