"""What the inspecting commands measure, as plain JSON-able data: gradient checks and gradient
flow (inspect-gradients), eval and info, exposure bias and its judge, neurons. Stands on training
(checkpoints) and below; views/ draws it."""
