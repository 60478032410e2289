// The Worker behind decodeInWorker (rnnc.js): decodes a job, posts each progressive step
// when asked, then the final images; their pixel buffers are transferred, not copied.
import { decodeAll } from "./rnnc.js";

self.onmessage = async ({ data: { job, files, opts } }) => {
  const onStep = opts.progressive ? (index, img, step, steps) =>
    self.postMessage({ job, step, steps, index, width: img.width, height: img.height, data: img.data },
                     [img.data.buffer]) : undefined;
  try {
    const images = await decodeAll(files, { ...opts, onStep });
    self.postMessage({ job, images: images.map((i) => ({ width: i.width, height: i.height, data: i.data })) },
                     images.map((i) => i.data.buffer));
  } catch (e) {
    self.postMessage({ job, error: e.message });
  }
};
