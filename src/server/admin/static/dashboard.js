// Growth dashboard: draws the charts from the JSON the server embedded in the page
// (#dashboard-data), with Chart.js served from /admin/assets/chart.umd.js (no CDN: works offline).
/* global Chart */
(() => {
  const data = JSON.parse(document.getElementById('dashboard-data').textContent);
  const palette = [
    '#2563eb',
    '#16a34a',
    '#f59e0b',
    '#dc2626',
    '#7c3aed',
    '#0891b2',
    '#db2777',
    '#65a30d',
    '#ea580c',
    '#475569',
  ];
  const colour = (i) => palette[i % palette.length];

  const growthCanvas = document.getElementById('growth-chart');
  new Chart(growthCanvas, {
    type: 'bar',
    data: {
      labels: data.growth.days,
      datasets: data.growth.sources.map((s, i) => ({
        label: s.label,
        data: s.net,
        backgroundColor: colour(i),
        stack: 'net',
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Net new followers per day, by source' } },
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'followers' } } },
    },
  });
  growthCanvas.dataset.rendered = 'true';

  const cumulateCanvas = document.getElementById('cumulate-chart');
  new Chart(cumulateCanvas, {
    type: 'line',
    data: {
      labels: data.cumulate.days,
      datasets: [
        {
          label: "WeChat's cumulative followers (user_cumulate)",
          data: data.cumulate.cumulate_user,
          borderColor: '#2563eb',
          backgroundColor: '#2563eb',
          spanGaps: true,
        },
        {
          label: 'Followers stored in wxsync',
          data: data.cumulate.stored_followers,
          borderColor: '#f59e0b',
          backgroundColor: '#f59e0b',
          borderDash: [6, 4],
          spanGaps: true,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Cumulative followers: WeChat vs stored' } },
      scales: { y: { title: { display: true, text: 'followers' } } },
    },
  });
  cumulateCanvas.dataset.rendered = 'true';
})();
