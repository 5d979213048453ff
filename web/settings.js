// pynet's presets and limits (pynet/settings.py), as the build wrote them into the site.
export const settings = await fetch(new URL('./settings.json', import.meta.url)).then((r) => r.json());
